import Foundation
import Testing

/// One crafted input of the corruption matrix and the commands it is run with.
struct HostileCase {
    /// What was done to the input, for the failure message ("VMCOREINFO SIZE(page)=-1 (elf)").
    let label: String
    let vmlinux: String
    let vmcore: String
    /// Subcommand and its options; [] is the summary. The input paths go after the subcommand.
    let commands: [[String]]
    /// The crafted files (deleted after the run, kept under HOSTILE_KEEP when the case fails).
    let crafted: [String]

    /// Runs every command and records each broken contract as a failed expectation.
    func expectContract(sourceLocation: SourceLocation = #_sourceLocation) {
        defer { crafted.forEach { unlink($0) } }
        for command in commands {
            let arguments = Array(command.prefix(1)) + [vmlinux, vmcore] + command.dropFirst()
            let name = command.isEmpty ? "summary" : command.joined(separator: " ")
            do {
                let outcome = try HostileRunner.run(arguments, scratch: HostileFiles.scratch)
                log(command: name, outcome)
                if let why = HostileRunner.violation(outcome, files: [vmlinux, vmcore]) {
                    let headline = Self.headline(outcome.stderr)
                    Issue.record("\(label): vmowner \(name): \(why); stderr: \(headline)", sourceLocation: sourceLocation)
                    keep(arguments: arguments, why: why, stderr: headline)
                }
            } catch {
                Issue.record("\(label): vmowner \(name) could not run: \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    /// The line of stderr that says what went wrong: a Swift trap's or ASan's message (with
    /// ASan's first frame in the project's sources), else the first line.
    static func headline(_ stderr: String) -> String {
        let lines = stderr.split(separator: "\n")
        let line = lines.first { $0.contains("Fatal error") || $0.contains("ERROR: AddressSanitizer") } ?? lines.first ?? ""
        guard line.contains("AddressSanitizer"), let frame = lines.first(where: { $0.contains("/Sources/") }),
              let at = frame.range(of: "/Sources/") else { return String(line.prefix(300)) }
        let kind = line.split(separator: " ").dropFirst(2).first ?? ""
        return "AddressSanitizer \(kind) at Sources/\(frame[at.upperBound...].split(separator: " ")[0])"
    }

    /// With HOSTILE_LOG set, one line per run: label, command, end, seconds, peak RSS, stderr's
    /// first line — to see what the matrix provokes, not only what fails.
    private func log(command: String, _ outcome: HostileRunner.Outcome) {
        guard let path = ProcessInfo.processInfo.environment["HOSTILE_LOG"] else { return }
        let first = outcome.stderr.split(separator: "\n").first.map(String.init) ?? ""
        let fields = [label, command, "\(outcome.end)", String(format: "%.2f", outcome.seconds), "\(outcome.peakRSS >> 20)",
                      String(first.prefix(200))]
        append(fields.joined(separator: "\t") + "\n", to: path)
    }

    private func append(_ line: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return }
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// Copies the crafted inputs of a failing run to HOSTILE_KEEP and adds a line to its
    /// failures.tsv: label, fault, stderr, the vmowner arguments (with the kept copies).
    private func keep(arguments: [String], why: String, stderr: String) {
        guard let folder = HostileRunner.keep else { return }
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let slug = String(label.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }.prefix(120))
        var arguments = arguments
        for file in crafted {
            let target = "\(folder)/\(slug)-\(URL(fileURLWithPath: file).lastPathComponent.split(separator: "-").last ?? "file")"
            if !FileManager.default.fileExists(atPath: target) {
                let copy = Process()
                copy.executableURL = URL(fileURLWithPath: "/bin/cp")
                copy.arguments = ["--sparse=always", file, target]
                try? copy.run()
                copy.waitUntilExit()
            }
            arguments = arguments.map { $0 == file ? target : $0 }
        }
        let line = [label, why, stderr.replacingOccurrences(of: "\t", with: " "), arguments.joined(separator: " ")]
            .joined(separator: "\t") + "\n"
        append(line, to: "\(folder)/failures.tsv")
    }
}
