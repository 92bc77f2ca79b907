import CanopyBuild
import CanopyEdge
import CanopySpec
import CanopyStore

// The state records the CLI and other clients decode, named from here so that the executable
// imports CanopyControl only (see DESIGN.md's module table).
public typealias BuildRecord = CanopyStore.BuildRecord
public typealias BuildStatus = CanopyStore.BuildStatus
public typealias DeploymentRecord = CanopyStore.DeploymentRecord
public typealias EnvironmentRecord = CanopyStore.EnvironmentRecord
public typealias RolloutRecord = CanopyStore.RolloutRecord
public typealias AuditEntry = CanopyStore.AuditEntry
public typealias BuildUser = CanopyBuild.BuildUser
public typealias BuildIdentities = CanopyBuild.BuildIdentities
public typealias DescriptorLimit = CanopyEdge.DescriptorLimit
public typealias ByteCount = CanopySpec.ByteCount
public typealias BodyCache = CanopyEdge.BodyCache
