/// The ELF note blob every dump carries: one CORE NT_PRSTATUS per CPU and VMCOREINFO, as
/// /proc/vmcore's PT_NOTE holds it (kdump-compressed files copy it after the sub header).
struct DumpNotes {
    let bytes: [UInt8]
    /// Where the VMCOREINFO text starts inside `bytes`, and its length.
    let vmcoreinfoOffset: Int
    let vmcoreinfoSize: Int

    init(sim: Simulator) {
        var blob: [UInt8] = []
        func note(_ name: String, _ type: UInt32, _ desc: [UInt8]) -> Int {
            var n = Array(name.utf8) + [0]
            let namesz = n.count
            while n.count % 4 != 0 { n.append(0) }
            blob += le(UInt64(namesz), 4) + le(UInt64(desc.count), 4) + le(UInt64(type), 4) + n
            let descAt = blob.count
            blob += desc
            while blob.count % 4 != 0 { blob.append(0) }
            return descAt
        }
        for cpu in 0..<2 {
            var prstatus = [UInt8](repeating: 0, count: Platform.current.prstatusSize)
            prstatus.replaceSubrange(32..<36, with: le(UInt64(cpu == 0 ? 1203 : 0), 4))   // pr_pid
            _ = note("CORE", 1, prstatus)
        }
        if sim.vmcoreinfoNote {
            let info = Array(sim.vmcoreinfoText().utf8)
            vmcoreinfoOffset = note("VMCOREINFO", 0, info)
            vmcoreinfoSize = info.count
        } else {
            (vmcoreinfoOffset, vmcoreinfoSize) = (0, 0)    // the kdump sub-header then names none
        }
        bytes = blob
    }
}
