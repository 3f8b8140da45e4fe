import ArgumentParser
import Foundation

/// vmsim: writes a simulated Linux 6.12 x86_64 (or arm64) crash dump (vmlinux + vmcore) with
/// page_owner data, and what the live kernel would have printed about it.
struct VMSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmsim",
        abstract: "Write a simulated Linux 6.12 crash dump with page_owner data.")

    @Option(help: "Seed of the simulation; the same seed gives the same bytes.")
    var seed: UInt64 = 1

    @Option(help: "RAM size, e.g. 64M, 1G, 64G.")
    var memory: String = "1G"

    @Option(help: "Output directory (vmlinux, vmcore, expected/).")
    var out: String?

    @Option(help: "Kernel generation: \(KernelProfile.names.joined(separator: ", ")).")
    var kernel: String = "6.12"

    @Option(help: "vmcore format: \(VMCoreFormat.allCases.map(\.rawValue).joined(separator: "|")) (flat is the flattened form of kdump-zlib).")
    var format: VMCoreFormat = .elf

    @Option(help: "Memory model: \(MemoryModel.allCases.map(\.rawValue).joined(separator: "|")).")
    var memoryModel: MemoryModel = .sparseExtreme

    @Flag(help: "Filter like makedumpfile -d 31: leave out free, user and page-cache pages (and zero pages in ELF).")
    var exclude = false

    @Flag(help: "Leave the VMCOREINFO note out of the dump (a QEMU guest without -device vmcoreinfo); the kernel's own copy stays in its memory.")
    var noVmcoreinfo = false

    @Flag(help: "Build the kernel with CONFIG_DEBUG_INFO_BTF: its BTF (pahole -J, package dwarves) in .BTF between __start_BTF and __stop_BTF.")
    var btf = false

    @Flag(help: "Boot without page_owner=on (no page_ext, page_owner_inited off).")
    var noPageOwner = false

    @Option(help: "Architecture: \(Platform.Arch.allCases.map(\.rawValue).joined(separator: "|")).")
    var arch: Platform.Arch = .x86_64

    @Option(help: "arm64 translation granule (page size): 4K, 16K or 64K.")
    var granule: String = "4K"

    @Option(help: "arm64 virtual address bits: 39 (4K), 42 (64K), 47 (16K), 48 or 52.")
    var vaBits: UInt64 = 48

    @Flag(help: .hidden)
    var printCTypes = false

    /// PAGE_SHIFT of `--granule`.
    var pageShift: UInt64? { ["4K": 12, "16K": 14, "64K": 16][granule.uppercased()] }

    var platform: Platform {
        arch == .arm64 ? Platform(arch: .arm64, pageShift: pageShift ?? 12, vaBits: vaBits) : .x86_64
    }

    func validate() throws {
        guard KernelProfile(kernel) != nil else {
            throw ValidationError("--kernel: '\(kernel)' is not one of \(KernelProfile.names.joined(separator: ", "))")
        }
        if arch == .arm64 {
            guard ["6.1", "6.12"].contains(kernel) else { throw ValidationError("--arch arm64 is simulated for --kernel 6.1 and 6.12") }
            guard let shift = pageShift else { throw ValidationError("--granule: '\(granule)' is not 4K, 16K or 64K") }
            let allowed = Platform.allowedVABits(pageShift: shift)
            guard allowed.contains(vaBits) else {
                throw ValidationError("--va-bits \(vaBits) is not offered with \(granule) pages (\(allowed.map(String.init).joined(separator: ", ")))")
            }
            guard memoryModel == .sparseExtreme else { throw ValidationError("--arch arm64 uses --memory-model sparse-extreme") }
            // The linear map spans half the VA space (_PAGE_END - PAGE_OFFSET); RAM starts at 1 GiB.
            if let bytes = VMSim.parseSize(memory), bytes > (UInt64(1) << (vaBits - 1)) - (1 << 30) {
                throw ValidationError("--memory \(memory) does not fit the linear map of a \(vaBits)-bit VA")
            }
        }
        if printCTypes { return }
        guard out != nil else { throw ValidationError("--out DIR is required") }
        guard let bytes = VMSim.parseSize(memory) else { throw ValidationError("--memory: cannot parse '\(memory)'") }
        guard bytes >= 64 << 20, bytes <= 1 << 40 else { throw ValidationError("--memory must be between 64M and 1T") }
        guard bytes <= memoryModel.maxMemoryBytes else {
            throw ValidationError("--memory-model \(memoryModel.rawValue) is simulated up to \(memoryModel.maxMemoryBytes >> 30)G")
        }
    }

    static func parseSize(_ s: String) -> UInt64? {
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        guard let last = s.uppercased().last else { return nil }
        if let u = units[last], let n = UInt64(s.dropLast()) {
            let (v, o) = n.multipliedReportingOverflow(by: u)
            return o ? nil : (v / (128 << 20) > 0 || v >= 64 << 20 ? v & ~((2 << 20) - 1) : v)
        }
        return UInt64(s)
    }

    func run() throws {
        KernelProfile.current = KernelProfile(kernel) ?? KernelProfile.current
        MemoryModel.current = memoryModel
        Platform.current = platform
        if printCTypes {
            // The type declarations the vmlinux DWARF comes from (tests compile them).
            print(KernelDeclarations.types)
            return
        }
        guard let out else { return }
        let sim = Simulator(seed: seed, memoryBytes: VMSim.parseSize(memory)!, pageOwner: !noPageOwner,
                            outDir: URL(fileURLWithPath: out))
        sim.format = format
        sim.exclude = exclude
        sim.vmcoreinfoNote = !noVmcoreinfo
        sim.btf = btf
        try sim.run()
    }
}

VMSim.main()
