import CanopyBuild
import CanopySpec
import Testing

/// Where a process's cgroups are, from `/proc/self/mountinfo` and `/proc/self/cgroup` as the
/// kernel writes them (Documentation/filesystems/proc.rst, "mountinfo"; cgroup-v2.rst,
/// "/proc/$PID/cgroup"), for the three layouts servers run on.
@Suite struct CgroupPlacesTests {
    /// A hybrid machine (this one when the tests were written): v1 controllers, and a v2
    /// hierarchy without them at /sys/fs/cgroup/unified.
    @Test func aHybridMachineHasV1MemoryAndAnEmptyUnifiedHierarchy() {
        let mountInfo = """
            23 1 253:1 / / rw,relatime - ext4 /dev/vda rw
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """
        let cgroups = """
            9:name=systemd:/
            8:pids:/
            4:memory:/process_api/a82b
            2:cpu,cpuacct:/
            0::/
            """
        let places = CgroupPlaces.parse(mountInfo: mountInfo, cgroups: cgroups)
        #expect(places.unified == "/sys/fs/cgroup/unified")
        #expect(places.memoryV1 == "/sys/fs/cgroup/memory/process_api/a82b")
        #expect(places.pidsV1 == "/sys/fs/cgroup/pids")
    }

    /// A systemd machine with the unified hierarchy alone, the server a service of its own.
    @Test func aUnifiedMachinePutsTheServerInItsServiceCgroup() {
        let mountInfo = """
            30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
            """
        let places = CgroupPlaces.parse(mountInfo: mountInfo, cgroups: "0::/system.slice/canopy.service\n")
        #expect(places == CgroupPlaces(unified: "/sys/fs/cgroup/system.slice/canopy.service"))
    }

    /// A container without a cgroup namespace sees its own cgroup mounted as the hierarchy's root:
    /// the path is taken relative to the mount's root; a cgroup outside it cannot be reached.
    @Test func aMountOfPartOfTheHierarchyIsReadRelativeToItsRoot() {
        let mountInfo = "700 690 0:26 /docker/abc /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"
        #expect(
            CgroupPlaces.parse(mountInfo: mountInfo, cgroups: "0::/docker/abc/inner\n").unified
                == "/sys/fs/cgroup/inner")
        #expect(CgroupPlaces.parse(mountInfo: mountInfo, cgroups: "0::/docker/abc\n").unified == "/sys/fs/cgroup")
        #expect(CgroupPlaces.parse(mountInfo: mountInfo, cgroups: "0::/docker/other\n").unified == nil)
    }

    /// mountinfo escapes spaces in mount points (`\040`); combined controllers share a line.
    @Test func escapedMountPointsAndCombinedControllersAreRead() {
        let mountInfo = "35 31 0:32 / /cg/mem\\040ory rw - cgroup cgroup rw,memory,pids\n"
        let places = CgroupPlaces.parse(mountInfo: mountInfo, cgroups: "4:memory,pids:/b\n")
        #expect(places.memoryV1 == "/cg/mem ory/b")
        #expect(places.pidsV1 == "/cg/mem ory/b")
        #expect(places.unified == nil)
    }

    @Test func sizesAreReadAsPeopleWriteThem() {
        #expect(ByteCount.parse("2GiB") == 2 << 30)
        #expect(ByteCount.parse("10G") == 10 << 30)
        #expect(ByteCount.parse("512MiB") == 512 << 20)
        #expect(ByteCount.parse("512 mb") == 512 << 20)
        #expect(ByteCount.parse("2048") == 2048 << 20, "a bare number is MiB, as --build-max-file-size took")
        #expect(ByteCount.parse("64k") == 64 << 10)
        #expect(ByteCount.parse("1.5G") == 3 << 29, "fractions, as systemd reads them")
        #expect(ByteCount.parse("1048576", bareShift: 0) == 1 << 20, "--cache-size: a bare number is bytes")
        for bad in ["", "0", "-1", "1..5G", "12XB", "GiB", "99999999999999999999T"] {
            #expect(ByteCount.parse(bad) == nil, "\(bad)")
        }
        #expect(ByteCount.format(256 << 20) == "256 MiB")
        #expect(ByteCount.format(1536 << 20) == "1.5 GiB")
        #expect(ByteCount.format(100) == "100 bytes")
    }
}
