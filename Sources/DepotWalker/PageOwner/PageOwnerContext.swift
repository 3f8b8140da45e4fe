import ELFCore

/// The kernel model plus page_owner's part of it: where page_owner's record sits in each
/// page_ext slot, its layout, its flag bits and its own stack handles. Exists only for a
/// kernel booted with page_owner.
public final class PageOwnerContext: KernelModel, @unchecked Sendable {
    public let owner: PageOwnerLayout
    /// Bytes per page_ext slot (`page_ext_size`) and where page_owner's part starts in it:
    /// ownerOffset + owner.size <= extSize <= 4096 (checked in init), so a record read from a
    /// slot of extSize bytes is in bounds, and so is the slot's leading flags word (extSize >= 8).
    public var extSize: UInt64 { pageExtSize ?? 0 }
    public let ownerOffset: UInt64
    let ownerFlag: UInt64
    let allocatedFlag: UInt64
    /// PAGE_EXT_OWNER_SWAPPED (swap_page_owner RFC): the record was restored at swap-in.
    let swappedFlag: UInt64?
    /// page_owner's own handles: allocations inside page_owner, depot failures, boot pages.
    public let dummyHandle: UInt32
    public let failureHandle: UInt32
    public let earlyHandle: UInt32

    public override init(dump: KernelDump) throws {
        guard try Self.isEnabled(dump) else {
            throw InputError(file: dump.vmcorePath, reason: "page_owner was not enabled on this kernel (boot with page_owner=on)")
        }
        let types = dump.types
        let memory = dump.memory
        owner = try PageOwnerLayout(types: types)
        let opsType = try types.structType("page_ext_operations", near: "page_owner_ops")
        ownerOffset = try opsType.field("offset").read(memory, at: try dump.requireAddress(of: "page_owner_ops"))
        ownerFlag = UInt64(1) << (try types.bitNumber("PAGE_EXT_OWNER", near: "page_owner_ops") ?? 0)
        allocatedFlag = UInt64(1) << (try types.bitNumber("PAGE_EXT_OWNER_ALLOCATED", near: "page_owner_ops") ?? 1)
        // Only the swap_page_owner RFC has the flag (and its xarray): other kernels are spared
        // a scan of the whole DWARF for a name they lack.
        swappedFlag = dump.address(of: SwapOwners.xarraySymbol) == nil ? nil
            : try types.bitNumber("PAGE_EXT_OWNER_SWAPPED", near: "page_owner_ops").map { UInt64(1) << $0 }
        func handle(_ name: String) -> UInt32 {
            guard let at = dump.address(of: name) else { return 0 }
            return (try? memory.u32(at)) ?? 0
        }
        dummyHandle = handle("dummy_handle")
        failureHandle = handle("failure_handle")
        earlyHandle = handle("early_handle")
        try super.init(dump: dump)
        guard let size = pageExtSize else {
            throw InputError(file: dump.vmcorePath, reason: "page_owner is enabled but page_ext_size is 0: the kernel keeps no page_ext slots")
        }
        guard ownerOffset <= size, UInt64(owner.size) <= size - ownerOffset else {
            throw InputError(file: dump.vmcorePath, reason: "page_ext_size \(size) cannot hold page_owner at offset \(ownerOffset) (\(owner.size) bytes)")
        }
    }

    /// `page_owner_inited`, a static key: enabled when its counter is positive.
    public static func isEnabled(_ dump: KernelDump) throws -> Bool {
        guard let at = dump.address(of: "page_owner_inited") else { return false }
        return Int32(bitPattern: try dump.memory.u32(at)) > 0
    }
}
