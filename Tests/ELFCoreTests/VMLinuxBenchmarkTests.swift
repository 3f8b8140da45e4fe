import Foundation
import Testing
@testable import ELFCore

/// Timing on a real kernel: `VMOWNER_BENCH_VMLINUX=/path/to/vmlinux swift test --filter
/// VMLinuxBenchmark`. Skipped otherwise (no vmlinux ships with the tests).
@Suite struct VMLinuxBenchmarkTests {
    static let path = ProcessInfo.processInfo.environment["VMOWNER_BENCH_VMLINUX"]

    @Test(.enabled(if: path != nil)) func resolveTheLayoutsVmownerNeeds() throws {
        let path = try #require(Self.path)
        var lines: [String] = []
        let clock = ContinuousClock()
        let start = clock.now
        func step<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
            let before = clock.now
            let result = try body()
            let elapsed = clock.now - before
            lines.append(String(format: "%-48@ %8.1f ms  %@", label as NSString,
                                Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000,
                                String(describing: result).prefix(60).description as NSString))
            return result
        }
        let vmlinux = try step("VMLinux(path:)") { try VMLinux(path: path) }
        _ = step("symbols (.symtab)") { vmlinux.symbols.count }
        let types = try #require(vmlinux.types as? DebugTypes)
        for symbol in ["page_owner_ops", "stack_pools", "stack_table", "mem_section", "modules", "gfpflag_names", "__set_page_owner"] {
            _ = step("unit near \(symbol)") { types.unitName(near: symbol) ?? "-" }
        }
        _ = step("struct page") { try? types.structType("page").size }
        _ = step("struct page_owner near page_owner_ops") { try? types.structType("page_owner", near: "page_owner_ops").size }
        _ = step("struct stack_record near stack_pools") { try? types.structType("stack_record", near: "stack_pools").size }
        _ = step("union handle_parts near stack_pools") { try? types.unionType("handle_parts", near: "stack_pools").size }
        _ = step("variable mem_section") { try? types.variableType("mem_section") }
        _ = step("variable stack_pools") { try? types.variableType("stack_pools") }
        _ = step("struct mem_section near mem_section") { try? types.structType("mem_section", near: "mem_section").size }
        _ = step("struct mem_cgroup") { try? types.structType("mem_cgroup").size }
        _ = step("mem_cgroup css.flags") { try? types.structType("mem_cgroup").member("css.flags").offset }
        _ = step("typedef depot_stack_handle_t") { try? types.typedefTarget("depot_stack_handle_t") }
        for name in ["PAGE_EXT_OWNER", "__MAX_NR_ZONES", "MEMCG_DATA_KMEM", "CSS_ONLINE", "MIGRATE_TYPES", "PGTY_buddy"] {
            _ = step("enumerator \(name)") { types.enumerator(name) }
        }
        _ = step("enumerator absent (completes the scan)") { types.enumerator("NO_SUCH_ENUMERATOR_ANYWHERE") }
        _ = step("struct absent (cache only)") { try? types.structType("no_such_struct_anywhere").size }
        let total = clock.now - start
        lines.append("total \(total)")
        print(lines.joined(separator: "\n"))
    }
}

/// On a real vmlinux, the direct members of kernel structs must sit where pahole (dwarves,
/// an independent DWARF reader) puts them. Same opt-in as the timing test.
@Suite struct VMLinuxPaholeCrossCheckTests {
    static let path = VMLinuxBenchmarkTests.path
    static let pahole = "/usr/bin/pahole"

    @Test(.enabled(if: path != nil && FileManager.default.isExecutableFile(atPath: pahole)),
          arguments: ["page", "page_owner", "stack_record", "mem_cgroup", "mem_section", "page_ext_operations",
                      "module", "cgroup_subsys_state", "zone", "pglist_data", "task_struct", "folio"])
    func directMembersMatchPahole(name: String) throws {
        let path = try #require(Self.path)
        let vmlinux = try VMLinux(path: path)
        let hint = ["page_owner": "page_owner_ops", "stack_record": "stack_pools"][name]
        let layout = try vmlinux.types.structType(name, near: hint)
        let text = try DWARFFixture.run(Self.pahole, ["-C", name, path])
        var checked = 0, bitfields = 0
        // Members of anonymous structs/unions are printed inline, deeper, with offsets from
        // the start of the outer struct: member(_:) must find them the same way.
        for line in text.split(separator: "\n") where line.hasPrefix("\t") {
            // "\t<type> <name>[dims]:bits;   /* offset[:bit] size */"
            guard !line.contains("("), !line.drop(while: { $0 == "\t" }).hasPrefix("}"), let semicolon = line.firstIndex(of: ";"),
                  let comment = line.range(of: "/*") else { continue }
            let declaration = line[..<semicolon].split(separator: " ").last.map(String.init) ?? ""
            let member = String(declaration.prefix { $0 != "[" && $0 != ":" }.drop { $0 == "*" })
            let numbers = line[comment.upperBound...].split(whereSeparator: { $0 == " " || $0 == "*" || $0 == "/" })
            guard !member.isEmpty, let first = numbers.first else { continue }
            // Bitfields read "offset: bit size" (or "offset:bit size").
            let parts = first.split(separator: ":")
            guard let offset = Int(parts[0]) else { continue }
            let bit = parts.count == 2 ? Int(parts[1]) : first.hasSuffix(":") && numbers.count > 1 ? Int(numbers[1]) : nil
            let found = try layout.member(member)
            #expect(found.offset == offset, "\(name).\(member)")
            #expect(found.bitOffset == bit, "\(name).\(member) bit")
            checked += 1
            bitfields += bit == nil ? 0 : 1
        }
        #expect(checked >= 2, "\(name): \(checked) members compared")
        if name == "task_struct" || name == "page_owner" { print("\(name): \(checked) members, \(bitfields) bitfields match pahole") }
        let sizeLine = text.split(separator: "\n").first { $0.contains("/* size: ") }
        let size = sizeLine.flatMap { Int($0.split(separator: " ").drop { $0 != "size:" }.dropFirst().first?.dropLast() ?? "") }
        #expect(layout.size == size, "sizeof \(name)")
    }
}
