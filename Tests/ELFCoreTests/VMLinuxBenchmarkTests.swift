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
        _ = step("symbols (.symtab)") { vmlinux.symbols.all.count }
        let types = vmlinux.types
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
