import CanopyStore

// The state records the admin API returns as they are: one definition each, in CanopyStore (the
// database's rows are the API's answers), named from here so that clients import CanopyAdminAPI only.
public typealias BuildRecord = CanopyStore.BuildRecord
public typealias BuildStatus = CanopyStore.BuildStatus
public typealias DeploymentRecord = CanopyStore.DeploymentRecord
public typealias EnvironmentRecord = CanopyStore.EnvironmentRecord
public typealias RolloutRecord = CanopyStore.RolloutRecord
public typealias AuditEntry = CanopyStore.AuditEntry
