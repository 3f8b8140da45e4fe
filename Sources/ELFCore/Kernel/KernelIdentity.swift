/// Does the vmlinux belong to the dump? The banner check (release, build host, compiler,
/// build number) and, on 5.9+, the build IDs: VMCOREINFO's BUILD-ID against the vmlinux's
/// GNU build ID note, which two builds of one release with the same banner still tell apart.
extension KernelDump {
    /// Throws when they do not belong together; returns the warnings of doubtful cases.
    func checkIdentity() throws -> [String] {
        guard let vmlinux else { return [] }
        let dumpID = BuildID.inVMCoreInfo(physical.vmcoreinfo)
        let fileID = vmlinux.buildID
        let differ = dumpID != nil && fileID != nil && dumpID != fileID
        let ids = differ ? "; build IDs: the dump's BUILD-ID \(dumpID!), \(vmlinux.path)'s \(fileID!)" : ""
        do {
            try checkBanner()
        } catch let error as InputError {
            throw InputError(file: error.file, reason: error.reason + ids)
        }
        guard differ, let dumpID, let fileID else { return [] }
        let bannersCompared = vmlinux.symbols.address(of: "linux_banner").flatMap { try? vmlinux.cString(atLinkAddress: $0, max: 512) } != nil
        if BuildID.releaseWritesWrongBuildID(release) {
            return ["the dump's BUILD-ID \(dumpID) is not \(vmlinux.path)'s build ID \(fileID), as expected: Linux \(release) is one of the stable kernels that write a wrong BUILD-ID\(bannersCompared ? "; the banners match" : ""), so reading on"]
        }
        guard bannersCompared else {
            throw InputError(file: vmcorePath, reason: "\(vmlinux.path) does not belong to this dump: the dump's BUILD-ID is \(dumpID) but the vmlinux's build ID is \(fileID) (and the vmlinux has no linux_banner to compare)")
        }
        return ["the dump's BUILD-ID \(dumpID) is not \(vmlinux.path)'s build ID \(fileID), though the banners match (the same release, build host, compiler and build number): a rebuild with another config or toolchain gives wrong layouts; reading on, but find the vmlinux with build ID \(dumpID) if the report looks wrong"]
    }
}
