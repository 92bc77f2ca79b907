import CanopyBuild
import CanopyEdge
import CanopySpec

// What the executable's `serve` needs from the modules below, named from here so that it imports
// CanopyControl (and CanopyClient) only. The admin API's records are named in CanopyAdminAPI.
public typealias BuildUser = CanopyBuild.BuildUser
public typealias BuildIdentities = CanopyBuild.BuildIdentities
public typealias DescriptorLimit = CanopyEdge.DescriptorLimit
public typealias ByteCount = CanopySpec.ByteCount
public typealias BodyCache = CanopyEdge.BodyCache
public typealias GeoIPDatabase = CanopyEdge.GeoIPDatabase
public typealias RuleCapabilities = CanopySpec.RuleCapabilities
