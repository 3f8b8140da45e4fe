import Foundation

/// Runs vmsim and the system tools (readelf, gdb, pahole, gcc, nm) the tests check it with.
enum SimTools {
    /// The build products directory: the test bundle's executable sits in it, beside vmsim.
    static let products: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()

    struct Output {
        let status: Int32
        let text: String
        let stderr: String
    }

    struct Failed: Error, CustomStringConvertible { let description: String }

    static func run(_ path: String, _ args: [String], cwd: URL? = nil) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path.hasPrefix("/") ? path : "/usr/bin/env")
        p.arguments = path.hasPrefix("/") ? args : [path] + args
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, text: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    static func vmsim(_ args: [String]) throws -> Output {
        let exe = products.appendingPathComponent("vmsim").path
        guard FileManager.default.isExecutableFile(atPath: exe) else { throw Failed(description: "vmsim not built at \(exe)") }
        return try run(exe, args)
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: [String: URL] = [:]
    static let root: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("vmsim-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    /// A dump made once per test process: `vmsim --seed seed --memory memory extra... --out DIR`.
    static func dump(seed: Int, memory: String, _ extra: [String] = [], fresh: String? = nil) throws -> URL {
        let key = ([String(seed), memory] + extra + (fresh.map { [$0] } ?? [])).joined(separator: "-")
        lock.lock()
        defer { lock.unlock() }
        if let d = made[key] { return d }
        let dir = root.appendingPathComponent(key)
        let r = try vmsim(["--seed", String(seed), "--memory", memory, "--out", dir.path] + extra)
        guard r.status == 0 else { throw Failed(description: "vmsim \(key) failed: \(r.stderr)") }
        made[key] = dir
        return dir
    }
}

/// The VMCOREINFO note read straight from the ELF core (our own minimal parse, for values).
func vmcoreinfo(_ vmcore: URL) throws -> [String: String] {
    let h = try FileHandle(forReadingFrom: vmcore)
    defer { try? h.close() }
    let head = [UInt8](h.readData(ofLength: 1 << 16))
    func u(_ o: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(head[o + $1]) << (8 * $1) } }
    let phoff = u(0x20, 8), phnum = u(0x38, 2)
    for i in 0..<phnum where u(phoff + i * 56, 4) == 4 {
        var o = u(phoff + i * 56 + 8, 8)
        let end = o + u(phoff + i * 56 + 32, 8)
        while o + 12 <= end {
            let namesz = u(o, 4), descsz = u(o + 4, 4)
            let name = String(decoding: head[(o + 12)..<(o + 12 + namesz - 1)], as: UTF8.self)
            let d = o + 12 + ((namesz + 3) & ~3)
            if name == "VMCOREINFO" {
                var result: [String: String] = [:]
                for line in String(decoding: head[d..<(d + descsz)], as: UTF8.self).split(separator: "\n") {
                    let kv = line.split(separator: "=", maxSplits: 1)
                    if kv.count == 2 { result[String(kv[0])] = String(kv[1]) }
                }
                return result
            }
            o = d + ((descsz + 3) & ~3)
        }
    }
    throw SimTools.Failed(description: "no VMCOREINFO note in \(vmcore.path)")
}
