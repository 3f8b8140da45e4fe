import Foundation
import Testing

/// Runs vmowner on one crafted input with the limits the corruption matrix enforces: a wall-time
/// bound (the child is killed, the case fails, the suite goes on), a bound on resident memory
/// (watched while it runs and checked from wait4's peak RSS), and the exit contract of hostile
/// input: exit 0 (a report, warnings on stderr), or exit 1 with one line on stderr naming the
/// file. Anything else — a signal, another status, a hang, a second line — is a failed case.
///
/// `VMOWNER_BIN` names another vmowner build to run (the AddressSanitizer one in
/// `make test-asan`); `HOSTILE_TIMEOUT` changes the time bound (seconds); `HOSTILE_KEEP` names a
/// folder where the inputs of failing cases are kept, with a line each in `failures.tsv`
/// (scripts/hostile-locate.py turns it into notes); `HOSTILE_LOG` names a file that gets one
/// line per run, failing or not.
enum HostileRunner {
    static let timeLimit: Double = ProcessInfo.processInfo.environment["HOSTILE_TIMEOUT"].flatMap(Double.init) ?? 20
    static let memoryLimit: Int = 2 << 30
    static let keep: String? = ProcessInfo.processInfo.environment["HOSTILE_KEEP"]

    struct Outcome {
        enum End: Equatable { case exited(Int32), signaled(Int32), timedOut, tooMuchMemory }
        let end: End
        let stderr: String
        let stdoutBytes: Int
        let seconds: Double
        let peakRSS: Int
    }

    /// Runs `vmowner command... vmlinux vmcore extra...` and returns what happened.
    static func run(_ arguments: [String], scratch: URL) throws -> Outcome {
        let token = UUID().uuidString
        let outPath = scratch.appendingPathComponent("out-\(token)").path
        let errPath = scratch.appendingPathComponent("err-\(token)").path
        defer { unlink(outPath); unlink(errPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        // ASan's own exit status is 1 by default, the status of bad input: make it distinct.
        environment["ASAN_OPTIONS"] = "exitcode=86:detect_leaks=0:abort_on_error=0"
        let argv = [Tools.vmownerPath] + arguments
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgv + cEnv).forEach { free($0) } }

        let start = Date()
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, Tools.vmownerPath, &actions, nil, cArgv, cEnv)
        guard spawned == 0 else { throw SpawnFailed(code: spawned) }

        var status: Int32 = 0
        var usage = rusage()
        var killedFor: Outcome.End?
        var highWater = 0
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0, errno != EINTR { throw SpawnFailed(code: errno) }
            if killedFor == nil {
                highWater = max(highWater, residentHighWater(pid))
                if Date().timeIntervalSince(start) > timeLimit {
                    killedFor = .timedOut
                } else if highWater > memoryLimit {
                    killedFor = .tooMuchMemory
                }
                if killedFor != nil { kill(pid, SIGKILL) }
            }
            usleep(killedFor == nil ? 2_000 : 10_000)
        }
        let seconds = Date().timeIntervalSince(start)
        // ru_maxrss also counts this process's own RSS (posix_spawn's vfork shares it until the
        // exec): a bound, not the child's figure. The child's own peak is the sampled VmHWM.
        let bound = Int(usage.ru_maxrss) * 1024
        let peak = highWater
        let end: Outcome.End
        if let killed = killedFor {
            end = killed
        } else if status & 0x7f == 0 {
            end = bound > memoryLimit ? .tooMuchMemory : .exited((status >> 8) & 0xff)
        } else {
            end = .signaled(status & 0x7f)
        }
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        let outBytes = (try? FileManager.default.attributesOfItem(atPath: outPath)[.size] as? Int) ?? 0
        return Outcome(end: end, stderr: stderr, stdoutBytes: outBytes ?? 0, seconds: seconds, peakRSS: peak)
    }

    /// The peak resident set of a running child so far (VmHWM), from /proc (0 once it is gone).
    private static func residentHighWater(_ pid: pid_t) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kib * 1024
    }

    struct SpawnFailed: Error { let code: Int32 }

    /// Why `outcome` breaks the contract, or nil when it keeps it. `files` are the inputs of the
    /// run: a one-line error must name one of them.
    static func violation(_ outcome: Outcome, files: [String]) -> String? {
        let lines = outcome.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        switch outcome.end {
        case .timedOut: return "no exit within \(Int(timeLimit)) s (killed)"
        case .tooMuchMemory: return "resident memory above \(memoryLimit >> 20) MiB (peak \(outcome.peakRSS >> 20) MiB)"
        case .signaled(let signal): return "killed by signal \(signal) (\(signalName(signal)))"
        case .exited(0): return nil
        case .exited(1):
            if lines.count != 1 { return "exit 1 with \(lines.count) lines on stderr" }
            guard lines[0].hasPrefix("vmowner: ") else { return "exit 1, stderr does not start with 'vmowner: '" }
            guard files.contains(where: { lines[0].contains($0) }) else { return "exit 1, the error names no input file" }
            return nil
        case .exited(let code): return "exit \(code)"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGILL: "SIGILL, a Swift trap"
        case SIGTRAP: "SIGTRAP, a Swift trap"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        default: "signal \(signal)"
        }
    }
}
