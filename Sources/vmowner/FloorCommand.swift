import ArgumentParser
import DepotWalker
import ELFCore

/// For `make bench`: the time to read the page_ext bytes alone, the floor a page walk sits on.
struct Floor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-floor",
        abstract: "Read every page_ext byte once and nothing else (the benchmark's floor).",
        shouldDisplay: false)

    @OptionGroup var files: DumpFiles

    func run() throws {
        try runReporting(files.vmcore) {
            let context = try files.openPageOwner()
            let (bytes, checksum) = PageExtFloor.read(context: context)
            StandardOutput.shared.write("page_ext bytes read: \(bytes) (checksum \(String(checksum, radix: 16)))\n")
        }
    }
}
