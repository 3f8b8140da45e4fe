import Foundation
import Testing

/// The offsets gdb reads from a vmlinux's DWARF, against `offsetof` in a C program compiled from
/// the same declarations (`vmsim --print-c-types`): two tools that are not ours must agree.
enum OffsetCheck {
    /// Returns (gdb's answers, the C program's answers), one per `(struct, member)`.
    static func dwarfAndOffsetof(vmlinux: String, declarations: String, fields: [(String, String)], work name: String) throws -> (gdb: [String], offsetof: [String]) {
        var c = declarations + "\nint printf(const char *, ...);\nint main(void) {\n"
        for (t, f) in fields { c += "printf(\"%lu\\n\", (unsigned long)__builtin_offsetof(struct \(t), \(f)));\n" }
        c += "return 0; }\n"
        let work = SimTools.root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try c.write(to: work.appendingPathComponent("o.c"), atomically: true, encoding: .utf8)
        let cc = try SimTools.run("gcc", ["-w", "-o", work.file("o"), work.file("o.c")])
        #expect(cc.status == 0, "\(cc.stderr)")
        let expected = try SimTools.run(work.file("o"), []).text.split(separator: "\n").map(String.init)
        var args: [String] = []
        for (t, f) in fields { args += ["-ex", "print (unsigned long)&((struct \(t) *)0)->\(f)"] }
        let gdb = try SimTools.run("gdb", ["-batch"] + args + [vmlinux])
        let got = gdb.text.split(separator: "\n").compactMap { $0.split(separator: "=").last?.trimmingCharacters(in: .whitespaces) }
        return (got, expected)
    }
}
