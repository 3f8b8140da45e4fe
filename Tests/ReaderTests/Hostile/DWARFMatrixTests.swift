import Foundation
import Testing

/// Every DWARF number the reader takes a layout from — member offsets, byte sizes, bit sizes
/// and offsets, array bounds, enumerator values of the types it resolves — set to the largest
/// value its form holds (the most negative for signed forms), one at a time, by patching the
/// simulated vmlinux in place (scripts/dwarf-hostile-patches.py lists the patches).
@Suite struct DWARFMatrixTests {
    static func dump() throws -> URL { try SimulatedDumps.dump(seed: 1, memory: "64M") }

    struct Patch: CustomTestStringConvertible, Sendable {
        let offset: Int
        let bytes: [UInt8]
        let label: String
        var testDescription: String { label }
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/dwarf-hostile-patches.py").path

    static func patches() throws -> [Patch] {
        try PyElfTools.ensureInstalled()
        let output = try PyElfTools.run(["python3", script, try dump().file("vmlinux")])
        return output.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, let offset = Int(parts[0]) else { return nil }
            let hex = Array(parts[1])
            let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(hex[$0...$0 + 1]), radix: 16) }
            return Patch(offset: offset, bytes: bytes, label: String(parts[2]))
        }
    }

    /// The commands a type's numbers can reach, to keep the matrix's run time down.
    static func commands(for label: String) -> [[String]] {
        let name = label.split(separator: " ").dropFirst().first.map { String($0.split(separator: ".")[0]) } ?? ""
        switch name {
        case "page_owner", "handle_parts", "stack_record", "stack", "mem_cgroup", "cgroup", "cgroup_subsys_state",
             "kernfs_node", "obj_cgroup", "trace_print_flags", "PAGE_EXT_OWNER", "PAGE_EXT_OWNER_ALLOCATED",
             "PGTY_buddy", "PG_reserved", "__NR_PAGEFLAGS", "MEMCG_DATA_OBJEXTS", "MEMCG_DATA_KMEM",
             "__NR_OBJEXTS_FLAGS", "CSS_ONLINE", "MR_COMPACTION", "MR_TYPES", "___GFP_MOVABLE_BIT", "___GFP_RECLAIMABLE_BIT":
            return [["page-owner"], ["stacks"], ["pfn", "0x1000"]]
        case "zone", "pglist_data", "free_area", "MIGRATE_UNMOVABLE", "MIGRATE_MOVABLE", "MIGRATE_RECLAIMABLE",
             "MIGRATE_PCPTYPES", "MIGRATE_HIGHATOMIC", "MIGRATE_ISOLATE", "MIGRATE_CMA", "MIGRATE_TYPES",
             "NR_PAGEBLOCK_BITS", "__NR_PAGEBLOCK_BITS", "PB_migrate_isolate", "__MAX_NR_ZONES", "N_MEMORY":
            return [["fragmentation"], ["page-owner"]]
        case "xarray", "xa_node", "idr", "alloc_tag", "alloc_tag_counters", "codetag", "codetag_type", "codetag_module",
             "codetag_range", "codetag_type_desc", "static_key", "module", "module_memory", "module_layout",
             "mod_kallsyms", "MOD_TEXT", "MOD_INIT_TEXT", "MOD_MEM_NUM_TYPES":
            return [["allocinfo"], ["page-owner"]]
        default:   // struct page, mem_section, page_ext, base types, list_head...: everything ([] is the summary)
            return [["page-owner"], ["stacks", "--from-pages"], ["fragmentation"], ["allocinfo"], ["info"], []]
        }
    }

    @Test(arguments: try patches())
    func outOfRange(_ patch: Patch) throws {
        let dir = try Self.dump()
        let image = try HostileFiles.image(dir.file("vmlinux"))
        let path = try image.variant("vmlinux", patches: [(patch.offset, patch.bytes)])
        HostileCase(label: "DWARF \(patch.label)", vmlinux: path, vmcore: dir.file("vmcore"),
                    commands: Self.commands(for: patch.label), crafted: [path]).expectContract()
    }

    /// The patch list covers what it says: the layouts the reader resolves are in it.
    @Test func patchListCoversTheReadersTypes() throws {
        let labels = try Self.patches().map(\.label)
        for needed in ["struct page.", "struct page_owner.", "struct page_ext_operations.", "struct mem_section.",
                       "struct stack_record.", "union handle_parts.", "struct zone.", "struct pglist_data.",
                       "struct alloc_tag.", "struct codetag.", "struct module.", "struct mem_cgroup.",
                       "enumerator PAGE_EXT_OWNER ", "enumerator PGTY_buddy", "enumerator MIGRATE_MOVABLE"] {
            #expect(labels.contains { $0.hasPrefix(needed) }, "no patch for \(needed)")
        }
    }
}

/// pyelftools for the DWARF patcher, installed on first use (CI starts from a fresh machine).
enum PyElfTools {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var checked = false

    static func ensureInstalled() throws {
        lock.lock()
        defer { lock.unlock() }
        if checked { return }
        if (try? run(["python3", "-c", "import elftools"])) == nil {
            let pip = ["python3", "-m", "pip", "install", "--quiet", "pyelftools"]
            if (try? run(pip)) == nil { _ = try run(pip + ["--break-system-packages"]) }
        }
        checked = true
    }

    struct Failed: Error, CustomStringConvertible { let description: String }

    /// Runs a command found on PATH and returns its stdout; throws when it fails.
    @discardableResult
    static func run(_ argv: [String]) throws -> String {
        let result = try Tools.runExecutable("/usr/bin/env", argv)
        guard result.status == 0 else { throw Failed(description: "\(argv.joined(separator: " ")): exit \(result.status): \(result.stderr)") }
        return result.text
    }
}
