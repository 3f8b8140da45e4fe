import Foundation

/// One simulated boot: builds the kernel image, lays out memory, runs the workload, fills
/// kernel memory and writes vmlinux, vmcore and expected/.
final class Simulator {
    let seed: UInt64
    let memoryBytes: UInt64
    let pageOwner: Bool
    let outDir: URL
    /// The kernel generation simulated (`--kernel`), fixed before the simulator is made.
    let profile = KernelProfile.current
    /// How pfns find their struct page and page_ext (`--memory-model`), fixed like the profile.
    let memoryModel = MemoryModel.current

    var rng: SeededRandom
    var image: ELFImage!
    var kallsyms: Kallsyms!
    var layouts: Layouts!
    var layout: MachineLayout!
    let phys = PhysicalMemory()
    var kmem: KernelMemory!
    var memblock: Memblock!
    var heap: KernelHeap!
    var pageTables: KernelPageTables!
    /// The machine simulated (`--arch`, `--granule`, `--va-bits`), fixed like the profile.
    let platform = Platform.current
    var module: ModuleLayout!
    var symbols: SymbolResolver!
    var workload: Workload!
    var pfnMap: PfnMap!
    var memcgAddresses: [(memcg: UInt64, objcg: UInt64)] = []
    var slabVectors: [UInt64] = []
    var pageExtSections: [UInt64: UInt64] = [:]   // section -> page_ext base VA (unbiased)
    var untrackedRanges: [(UInt64, UInt64)] = []
    var crashTime: UInt64 = 0
    var pageblockTypes: [UInt64: Int] = [:]
    private(set) lazy var presentSectionSet = Set(layout.presentSections)
    /// The allocation tags and their counters (profiles with memory allocation profiling).
    var allocTags: AllocTagModel?
    /// How the vmcore is written (--format, --exclude).
    var format: VMCoreFormat = .elf
    var exclude = false
    /// Whether the dump carries the VMCOREINFO note (--no-vmcoreinfo: a QEMU guest started
    /// without `-device vmcoreinfo`); the kernel's own copy is in its memory either way.
    var vmcoreinfoNote = true
    /// Whether the image carries its own BTF (--btf, CONFIG_DEBUG_INFO_BTF).
    var btf = false
    /// The direct-map page holding the kernel's copy of the VMCOREINFO text.
    var vmcoreinfoPage: UInt64 = 0

    init(seed: UInt64, memoryBytes: UInt64, pageOwner: Bool, outDir: URL) {
        self.seed = seed
        self.memoryBytes = memoryBytes
        self.pageOwner = pageOwner
        self.outDir = outDir
        self.rng = SeededRandom(seed: seed)
    }

    /// Runtime address of an image symbol.
    func sym(_ name: String) -> UInt64 {
        guard let s = image.symbol(name) else { fatalError("vmsim internal error: no symbol \(name)") }
        return s.value &+ layout.kernelOffset
    }

    func run() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: outDir, withIntermediateDirectories: true)
        let work = outDir.appendingPathComponent(".vmsim-build")
        try? fm.removeItem(at: work)
        defer { try? fm.removeItem(at: work) }

        // 1. The kernel image with its kallsyms tables.
        image = try ELFImage(bytes: try ImageBuilder.build(workDir: work, btf: btf))
        kallsyms = try Kallsyms(image: image)
        try kallsyms.patch(into: &image)
        layouts = Layouts(values: try ImageBuilder.probeLayouts(workDir: work, queries: Layouts.queries))
        try checkLayouts()
        try Data(image.bytes).write(to: outDir.appendingPathComponent("vmlinux"))

        // 2. Boot: layout, memblock, page tables.
        layout = MachineLayout(memoryBytes: memoryBytes, rng: &rng)
        crashTime = 1_767_225_600 + rng.below(86_400 * 30)
        let imgStart = image.symbol("_text")!.value &+ layout.kernelOffset
        let imgEnd = image.symbol("_end")!.value &+ layout.kernelOffset
        kmem = KernelMemory(layout: layout, phys: phys, imageStart: imgStart, imageEnd: imgEnd)
        memblock = Memblock(layout: layout)
        if !platform.isARM64 { memblock.reserve(0, 0x100000) }  // the first MiB stays reserved on x86
        let imgPhysEnd = (layout.kernelLoadPhys + (imgEnd - imgStart) + MachineLayout.twoMiB - 1) & ~(MachineLayout.twoMiB - 1)
        memblock.reserve(layout.kernelLoadPhys, imgPhysEnd)
        heap = KernelHeap(memblock: memblock, kmem: kmem)
        let root = kmem.physical(of: sym(platform.pageTableRoot))!
        let newTable: () -> UInt64 = { [unowned self] in self.memblock.alloc(MachineLayout.pageSize) }
        pageTables = platform.isARM64 ? ARM64PageTables(rootPhys: root, newTable: newTable)
                                      : PageTables(rootPhys: root, newTable: newTable)
        module = ModuleLayout(base: layout.moduleBase)
        symbols = SymbolResolver(image: image, kallsyms: kallsyms, kernelOffset: layout.kernelOffset, module: module)

        copyImage()
        mapKernel()
        let sections = layout.presentSections
        let memmap = allocateMemmap(sections)
        let stackTable = pageOwner ? allocateStackTable() : (va: UInt64(0), buckets: 0)
        if pageOwner { allocatePageExt(sections) }
        let percpu = (0..<2).map { _ in kmem.directMap(memblock.alloc(64 << 10)) }
        vmcoreinfoPage = memblock.alloc(MachineLayout.pageSize)

        // 3. The workload runs on what memblock left to the page allocator.
        let allocator = PageAllocator(freeRanges: memblock.freePfnRanges(excluding: []))
        workload = Workload(allocator: allocator, symbols: symbols, kmem: kmem,
                            totalPages: layout.ram.reduce(0) { $0 + ($1.end - $1.start) / MachineLayout.pageSize }, seed: seed)
        workload.run()
        if profile.allocProfiling {
            allocTags = AllocTagModel(profile: profile, seed: seed, cpus: percpu.count, ramBytes: memoryBytes,
                                      brdPages: workload.brdPagesAllocated, shmemPages: workload.shmemPagesAllocated)
        }
        buildMemcg()
        pfnMap = PfnMap(layout: layout, reserved: memblock.reserved, untracked: untrackedRanges + workload.untracked,
                        blocks: workload.blocks)

        pageblockTypes = allocator.pageblockType

        // 4. Kernel memory.
        writeMemmap(memmap)
        if memoryModel.isSparse { writeSections(sections, memmap: memmap) }
        if pageOwner {
            writePageExt()
            writeDepot(stackTable: stackTable)
        }
        writeModule()
        writeAllocTags(percpu: percpu)
        writeGlobals(stackTable: stackTable, percpu: percpu, memmap: memmap)
        pageTables.write(to: phys)

        // 5. Files.
        try format.write(sim: self, to: outDir.appendingPathComponent("vmcore"), exclude: exclude)
        try ExpectedOutput(sim: self).write(to: outDir.appendingPathComponent("expected"))
    }

    /// The struct offsets the generators hard-code must match what gcc laid out.
    private func checkLayouts() throws {
        let expect: [(String, UInt64)] = [
            ("SIZE(page)", 64), ("OFFSET(page.compound_head)", 8), ("OFFSET(page.private)", 40),
            ("OFFSET(page._mapcount)", 48), ("OFFSET(page._refcount)", 52), ("OFFSET(page.memcg_data)", 56),
            ("SIZE(page_owner)", UInt64(profile.pageOwnerSize)), ("OFFSET(page_owner.handle)", 8),
        ] + (memoryModel.isSparse ? [("SIZE(mem_section)", 32)] : []) + ProfileLayoutChecks.expected(profile)
        for (k, v) in expect where layouts[k] != v {
            throw ImageBuilder.BuildError(description: "layout \(k) is \(layouts[k]), generators assume \(v)")
        }
    }
}
