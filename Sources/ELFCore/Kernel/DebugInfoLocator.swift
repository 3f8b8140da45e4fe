#if canImport(Glibc)
import Glibc
#endif

/// Finds the vmlinux of a dumped kernel in a debug-info folder (default /usr/lib/debug) when
/// the user names none: first by the dump's BUILD-ID in the `.build-id/xx/rest.debug` layout
/// (GDB's, which Fedora's kernel-debuginfo and Debian's -dbg packages fill), then by release:
/// boot/vmlinux-RELEASE (Debian's linux-image-*-dbg, Ubuntu's -dbgsym),
/// lib/modules/RELEASE/vmlinux (Fedora's kernel-debuginfo) and vmlinux-RELEASE (a flat folder).
public struct DebugInfoLocator: Sendable {
    public static let defaultDirectory = "/usr/lib/debug"
    public let directory: String

    public init(directory: String = DebugInfoLocator.defaultDirectory) {
        self.directory = directory
    }

    /// The places searched, in order, for a kernel with this build ID (when the dump has one)
    /// and release.
    public func candidates(buildID: String?, release: String) -> [String] {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var paths: [String] = []
        if let id = buildID, id.count > 2 {
            paths.append("\(base)/.build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug")
        }
        // A release is one path component: never let the dump walk the folder tree.
        if !release.contains("/"), release != "..", release != "." {
            paths += ["\(base)/boot/vmlinux-\(release)", "\(base)/lib/modules/\(release)/vmlinux", "\(base)/vmlinux-\(release)"]
        }
        return paths
    }

    /// The vmlinux of the dump whose VMCOREINFO text is `vmcoreinfo`, by its BUILD-ID and
    /// OSRELEASE; a dump without the note cannot say which kernel it is of.
    public func locate(vmcoreinfo: String?, dumpPath: String) throws -> String {
        guard let vmcoreinfo else {
            throw InputError(file: dumpPath, reason: "no vmlinux given, and the dump has no VMCOREINFO note: without it neither can the vmlinux be found (by build ID and release) nor the kernel's own kallsyms and BTF in the dump: name the vmlinux of the crashed kernel")
        }
        let release = try VMCoreInfo(text: vmcoreinfo, file: dumpPath).osRelease
        return try locate(buildID: BuildID.inVMCoreInfo(vmcoreinfo), release: release, dumpPath: dumpPath)
    }

    /// The first candidate that is a regular file (symbolic links followed), or an error for
    /// the dump naming the build ID, the release and every place searched.
    public func locate(buildID: String?, release: String, dumpPath: String) throws -> String {
        let paths = candidates(buildID: buildID, release: release)
        for path in paths {
            var info = stat()
            if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { return path }
        }
        let id = buildID.map { "build ID \($0)" } ?? "no BUILD-ID in VMCOREINFO (Linux before 5.9)"
        throw InputError(file: dumpPath, reason: "no vmlinux given, and none in \(directory) for Linux \(release) (\(id)): looked for \(paths.joined(separator: ", ")); install the kernel's debug info (Debian: linux-image-\(release)-dbg, Ubuntu: linux-image-\(release)-dbgsym, Fedora: kernel-debuginfo), point --debug-dir at it, or name the vmlinux")
    }
}
