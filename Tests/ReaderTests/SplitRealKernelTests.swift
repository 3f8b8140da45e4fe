import ELFCore
import Foundation
import Testing

/// The real 6.12 dump split by Debian's makedumpfile 1.7.2 (`--split -c -d 31`, 3 parts, see
/// ConvertedDumps): every report of the set equals the report of the unsplit `-c -d 31` file,
/// with the parts in any order, with one part named, and with the vmlinux found by build ID.
/// Skipped when the real dump has not been made (samples/real-kernel/make-dump.sh 6.12).
@Suite(.enabled(if: (try? RealKernelTests.folder("6.12")) != nil, "no real 6.12 dump: run samples/real-kernel/make-dump.sh 6.12"))
struct SplitRealKernelTests {
    static let commands: [[String]] = [["page-owner"], ["stacks"], ["stacks", "--threshold", "0", "--format", "folded"], ["summary"],
                                       ["allocinfo"], ["fragmentation"], ["sort"], ["page-owner", "--mode", "handle"]]

    @Test func everyReportOfTheSetIsTheUnsplitDumps() throws {
        let set = try ConvertedDumps.make("6.12")
        let parts = set.splitParts
        let whole = set.file("c-d31")
        let dump = try #require(try SplitDumpFiles.open(paths: parts) as? SplitKdumpSet)
        #expect(dump.partRanges.count == 3 && dump.partRanges.allSatisfy { !$0.isEmpty }, "\(dump.partRanges)")

        let id = try #require(BuildID.inVMCoreInfo(dump.vmcoreinfo))
        let debugDir = set.file("debug")
        try FileManager.default.createDirectory(atPath: debugDir + "/.build-id/" + id.prefix(2), withIntermediateDirectories: true)
        try? FileManager.default.createSymbolicLink(atPath: debugDir + "/.build-id/\(id.prefix(2))/\(id.dropFirst(2)).debug", withDestinationPath: set.vmlinux)

        for command in Self.commands {
            let expected = try Tools.run("vmowner", command + [set.vmlinux, whole])
            #expect(expected.status == 0 && !expected.text.isEmpty, "\(command): \(expected.stderr)")
            for files in [[set.vmlinux] + parts, [parts[2], parts[0], set.vmlinux, parts[1]], ["--debug-dir", debugDir, parts[1]]] {
                let ours = try Tools.run("vmowner", command + files)
                #expect(ours.status == 0, "\(command) \(files): \(ours.stderr)")
                #expect(ours.text == expected.text, "\(command) \(files): \(firstDifference(ours.text, expected.text) ?? "")")
                #expect(!ours.stderr.contains("BUILD-ID"), "\(ours.stderr)")
            }
        }
        let boundaries = dump.partRanges.dropFirst().flatMap { [$0.lowerBound - 1, $0.lowerBound] }.map { String($0) }
        let pfns = try Tools.run("vmowner", ["pfn", parts[2], set.vmlinux, parts[1], parts[0]] + boundaries + ["--format", "json"])
        let wholePFNs = try Tools.run("vmowner", ["pfn", set.vmlinux, whole] + boundaries + ["--format", "json"])
        #expect(pfns.status == 0 && pfns.text == wholePFNs.text && pfns.text.contains("\"pfn\""), "\(pfns.stderr)")
        let info = try Tools.run("vmowner", ["info", set.vmlinux, parts[0]])
        #expect(info.text.hasPrefix("format:       kdump-compressed (zlib, split in 3 files)\n"), "\(info.text.prefix(120)) \(info.stderr)")
    }

    @Test func aMissingPartIsRefused() throws {
        let set = try ConvertedDumps.make("6.12")
        let parts = set.splitParts
        let ranges = try #require(try SplitDumpFiles.open(paths: parts) as? SplitKdumpSet).partRanges
        let result = try Tools.run("vmowner", ["page-owner", set.vmlinux, parts[1], parts[0]])
        #expect(result.status == 1 && result.text.isEmpty)
        #expect(result.stderr.contains("no part holds pfns \(ranges[2].lowerBound)-\(ranges[2].upperBound)") && result.stderr.contains("after \(parts[1])"), "\(result.stderr)")
    }
}
