import ELFCore
import Foundation
import Testing

/// The real dumps (samples/real-kernel) converted by tools that are not ours — Debian's
/// makedumpfile 1.7.2 (-c, -l, -E, -F, each also with -d 31; on arm64 all but -E alone, see
/// ConvertedDumps.premade), QEMU 7.2's flattened kdump-zlib, xz — must give
/// `vmowner page-owner` the same text as the ELF original.
@Suite struct DumpFormatRealKernelTests {
    /// makedumpfile's options for each conversion; "F" writes the flattened form to stdout.
    static let conversions: [(name: String, options: [String], format: String)] = [
        ("c", ["-c"], "kdump-compressed (zlib)"),
        ("l", ["-l"], "kdump-compressed (lzo)"),
        ("E", ["-E"], "ELF"),
        ("F", ["-F"], "flattened kdump (uncompressed)"),
    ]

    @Test(arguments: RealKernelTests.versions)
    func everyFormatGivesTheELFText(version: String) throws {
        let set = try ConvertedDumps.make(version)
        let elf = try Tools.vmowner("page-owner", set.vmlinux, set.elf)
        #expect(elf.status == 0, "\(elf.stderr)")
        #expect(elf.text.count > 1_000_000)
        var files: [(path: String, format: String)] = Self.conversions.filter { set.names.contains($0.name) }.map { (set.file($0.name), $0.format) }
        files += [(set.qemu, "flattened kdump (zlib)"),
                  (set.file("c-blocks.xz"), "kdump-compressed (zlib, xz)"),
                  (set.file("qemu-one-block.xz"), "flattened kdump (zlib, xz)"),
                  (set.file("elf-blocks.xz"), "ELF (xz)")]
        for (path, format) in files {
            let info = try Tools.vmowner("info", set.vmlinux, path)
            #expect(info.text.hasPrefix("format:       \(format)\n"), "\(path): \(info.text.prefix(80)) \(info.stderr)")
            let ours = try Tools.vmowner("page-owner", set.vmlinux, path)
            #expect(ours.status == 0, "\(path): \(ours.stderr)")
            #expect(!ours.stderr.contains("could not be read"), "\(path): \(ours.stderr)")
            #expect(ours.text == elf.text, "\(path): \(firstDifference(ours.text, elf.text) ?? "")")
        }
    }

    /// -d 31 drops zero, cache, user and free pages. page_owner's records live in kernel
    /// memory, so what is printed must be records of the ELF text; where anything the report
    /// needed was dropped the text shrinks and a warning counts the pages. makedumpfile 1.7.2
    /// also drops some slab pages 6.12 still used (seen: the kernfs_node cache holding the
    /// memcg's name): a record whose memcg cannot be read is printed without its memcg line,
    /// and a second warning counts those.
    /// show_stacks of a -d 31 dump: the kernel's stack_list when the dump kept it; where
    /// makedumpfile dropped its pages (arm64 6.12 and 6.12-novmemmap), a warning and the count
    /// from the pages, which is what `--from-pages` gives of the whole dump.
    @Test(arguments: RealKernelTests.versions)
    func stacksOfFilteredDumps(version: String) throws {
        let set = try ConvertedDumps.make(version)
        let filtered = try Tools.vmowner("stacks", set.vmlinux, set.file("c-d31"))
        #expect(filtered.status == 0 && filtered.stdout.count > 1000, "\(filtered.stderr)")
        let fellBack = filtered.stderr.contains("stack_list is not in the dump")
        let whole = try Tools.run("vmowner", ["stacks", set.vmlinux, set.elf, "--threshold", "0"] + (fellBack ? ["--from-pages"] : []))
        let again = try Tools.vmowner("stacks", set.vmlinux, set.file("c-d31"), "--threshold", "0")
        #expect(again.stdout == whole.stdout, "\(version) fell back: \(fellBack)")
        if version == "6.12-arm64" || version == "6.12-novmemmap" { #expect(fellBack) }
    }

    @Test(arguments: RealKernelTests.versions)
    func filteredDumpsPrintASubset(version: String) throws {
        let set = try ConvertedDumps.make(version)
        let elf = PageOwnerRecords(try Tools.vmowner("page-owner", set.vmlinux, set.elf).text)
        let filtered = Self.conversions.filter { set.names.contains($0.name + "-d31") }
        #expect(!filtered.isEmpty)
        for conversion in filtered {
            let path = set.file(conversion.name + "-d31")
            let dump = try DumpFormat.open(path: path)
            // The filter really dropped pages, and they fault instead of reading as zeros.
            var excluded = 0, read = 0
            var page = [UInt8](repeating: 0, count: 4096)
            for range in dump.ranges {
                for address in stride(from: range.start, to: range.end, by: 4096 * 8) {
                    do { try page.withUnsafeMutableBytes { try dump.read(physical: address, into: $0) }; read += 1 }
                    catch MemoryFault.excluded { excluded += 1 }
                }
            }
            #expect(excluded > read, "\(path): \(excluded) sampled pages excluded, \(read) read")

            let result = try Tools.vmowner("page-owner", set.vmlinux, path)
            #expect(result.status == 0, "\(path): \(result.stderr)")
            let ours = PageOwnerRecords(result.text)
            #expect(ours.records.count > 10_000)
            let foreign = ours.records.filter { elf.records[$0.key] != $0.value }
            let withoutMemcg = foreign.filter { elf.records[$0.key].map { Self.droppingMemcgLines(String($0)) } == String($0.value) }
            let other = foreign.filter { withoutMemcg[$0.key] == nil }
            #expect(other.isEmpty, "\(path): \(other.count) records not in the ELF text, e.g. \(other.first?.value.prefix(600) ?? "")")
            #expect(withoutMemcg.count == Self.warnedCount(result.stderr, "without their memcg line") ?? 0,
                    "\(path): \(withoutMemcg.count) records lack their memcg line: \(result.stderr)")
            let warned = Self.unreadableCount(result.stderr)
            if ours.records.count < elf.records.count {
                #expect((warned ?? 0) > 0, "\(path): \(elf.records.count - ours.records.count) records missing but no warning: \(result.stderr)")
            }
            if let warned { #expect(warned > 0) }
            print("real \(version) \(conversion.name) -d 31: \(ours.records.count) of \(elf.records.count) records (\(withoutMemcg.count) without their memcg line), \(warned ?? 0) unreadable pages warned, \(excluded) of \(excluded + read) sampled pages excluded")
        }
    }

    /// The count in "vmowner: warning: N pages or stacks could not be read from ...".
    static func unreadableCount(_ stderr: String) -> Int? { warnedCount(stderr, "could not be read") }

    /// The number in the warning line that contains `phrase`.
    static func warnedCount(_ stderr: String, _ phrase: String) -> Int? {
        guard let line = stderr.split(separator: "\n").first(where: { $0.contains(phrase) }) else { return nil }
        return line.split(separator: " ").lazy.compactMap { Int($0) }.first
    }

    /// A page_owner record as printed when its memcg could not be read.
    static func droppingMemcgLines(_ record: String) -> String {
        record.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("Charged ") }.joined(separator: "\n")
    }
}

/// The converted files of one real dump, made once per test process into a temporary folder
/// that is removed at exit (makedumpfile takes about 2 s per file).
struct ConvertedDumps: Sendable {
    let dir: URL
    let vmlinux: String
    let elf: String
    let qemu: String
    /// The makedumpfile conversions in `dir`: a name of `DumpFormatRealKernelTests.conversions`,
    /// alone or with "-d31".
    let names: [String]
    func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
    /// `makedumpfile --split -c -d 31` of the ELF, alone in their folder: the split set of "c-d31".
    var splitParts: [String] { (1...3).map { file("split/part\($0)") } }

    /// Dumps the host's makedumpfile cannot read: Debian's amd64 build reads x86_64 dumps
    /// only. make-dump.sh converts them with Debian's arm64 makedumpfile under qemu-user into
    /// the dump folder's makedumpfile/: all of these but an unfiltered -E (1 GiB more).
    /// ("c" is always there: the xz test compresses it.)
    static let premade: [String: [String]] = ["6.12-arm64": ["c", "l", "F", "c-d31", "l-d31", "E-d31", "F-d31"]]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: [String: ConvertedDumps] = [:]

    /// makedumpfile 1.7.2 wants the program headers at offset 64; QEMU 7.2 puts them at 192
    /// after its section headers. This script copies the file and moves them.
    static let movePhdrs = PageOwnerSortTests.repository.appendingPathComponent("samples/real-kernel/elf-phdrs-at-64.py").path

    static func make(_ version: String) throws -> ConvertedDumps {
        lock.lock()
        defer { lock.unlock() }
        if let set = made[version] { return set }
        // Resolve the cache's symlink once: `make-dump.sh` may point it at a newer dump meanwhile.
        let source = try RealKernelTests.folder(version).resolvingSymlinksInPath()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vmowner-formats-\(getpid())-\(version)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        removeAtExit(dir.path)
        let elf = source.appendingPathComponent("vmcore.elf").path
        let names = premade[version] ?? DumpFormatRealKernelTests.conversions.flatMap { [$0.name, $0.name + "-d31"] }
        let set = ConvertedDumps(dir: dir, vmlinux: source.appendingPathComponent("vmlinux").path, elf: elf,
                                 qemu: source.appendingPathComponent("vmcore.kdump-zlib").path, names: names)
        if premade[version] != nil {
            try linkPremade(set, from: source.appendingPathComponent("makedumpfile"), version: version)
        } else {
            try convert(set)
        }
        try run("/usr/bin/xz", ["-T1", "-1", "--block-size=1MiB", "-c", set.file("c")], stdout: set.file("c-blocks.xz"))
        try run("/usr/bin/xz", ["-T1", "-1", "-c", set.qemu], stdout: set.file("qemu-one-block.xz"))
        try run("/usr/bin/xz", ["-T2", "-0", "--block-size=16MiB", "-c", elf], stdout: set.file("elf-blocks.xz"))
        made[version] = set
        return set
    }

    /// The host's makedumpfile converts the ELF dump, each conversion with and without -d 31.
    private static func convert(_ set: ConvertedDumps) throws {
        let fixed = set.file("vmcore-phdrs-at-64.elf")
        try run("/usr/bin/env", ["python3", movePhdrs, set.elf, fixed])
        defer { try? FileManager.default.removeItem(atPath: fixed) }
        for conversion in DumpFormatRealKernelTests.conversions {
            for (suffix, extra) in [("", [String]()), ("-d31", ["-d", "31"])] {
                let out = set.file(conversion.name + suffix)
                if conversion.options == ["-F"] {
                    try run("/usr/sbin/makedumpfile", ["-F"] + extra + [fixed], stdout: out)
                } else {
                    try run("/usr/sbin/makedumpfile", ["-f"] + conversion.options + extra + [fixed, out])
                }
            }
        }
        // makedumpfile --split, 3 parts: the default splitblock (1 GiB) would give the first part
        // every page of this 1 GiB machine; 4 MiB blocks give all three some.
        try FileManager.default.createDirectory(atPath: set.file("split"), withIntermediateDirectories: true)
        try run("/usr/sbin/makedumpfile", ["-f", "--split", "--splitblock-size", "4096", "-c", "-d", "31", fixed] + set.splitParts)
    }

    /// The conversions make-dump.sh made, linked into the set's folder under the same names.
    private static func linkPremade(_ set: ConvertedDumps, from folder: URL, version: String) throws {
        for name in set.names {
            let made = folder.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: made) else {
                throw ToolFailed(description: "\(made) is missing: run samples/real-kernel/make-dump.sh \(version) --force")
            }
            try FileManager.default.createSymbolicLink(atPath: set.file(name), withDestinationPath: made)
        }
    }

    struct ToolFailed: Error, CustomStringConvertible { let description: String }

    static func run(_ tool: String, _ arguments: [String], stdout: String? = nil) throws {
        let path = FileManager.default.isExecutableFile(atPath: tool) ? tool : "/usr/bin/" + (tool as NSString).lastPathComponent
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ToolFailed(description: "\(tool) is not installed (scripts/install-deps.sh installs makedumpfile and xz-utils)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let stdout {
            FileManager.default.createFile(atPath: stdout, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout))
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        let err = Pipe()
        process.standardError = err
        try process.run()
        let message = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolFailed(description: "\(tool) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(String(decoding: message.suffix(2000), as: UTF8.self))")
        }
    }

    private static func removeAtExit(_ path: String) {
        lock2.lock()
        defer { lock2.unlock() }
        if folders.isEmpty { atexit { ConvertedDumps.removeFolders() } }
        folders.append(path)
    }
    private static let lock2 = NSLock()
    nonisolated(unsafe) private static var folders: [String] = []
    private static func removeFolders() {
        for folder in folders { try? FileManager.default.removeItem(atPath: folder) }
    }
}
