import DepotWalker
import ELFCore

/// Where `stacks` and `diff` take their counts from: the kernel's own stack list (6.9+),
/// or the pages themselves on older kernels, with --from-pages and when a selection is given
/// (the kernel's list knows no owners).
enum StackSource {
    static func counts(_ context: PageOwnerContext, fromPages: Bool, selector: PageSelector = .all, vmcore: String) throws -> [StackCount] {
        if !fromPages, selector.selectsAll {
            do {
                if let list = try StackCounts.fromStackList(context) { return list }
            } catch let fault as MemoryFault {
                // A filtered dump can lack the list's pages (makedumpfile -d 31 of the real arm64
                // 6.12 dump drops them): count from the pages, as for older kernels.
                guard case .excluded = fault else { throw fault }
                Diagnostics.warn("\(vmcore): the kernel's stack_list is not in the dump (\(fault)); counting from the pages instead")
            }
        }
        let census = PageCensus(context: context, selector: selector)
        if census.unreadable > 0 { Diagnostics.warn("\(census.unreadable) pages could not be read from \(vmcore); counts are partial") }
        return StackCounts.fromPages(census, context: context)
    }
}
