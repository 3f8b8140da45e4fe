/// How far the page walks have gone, for a progress line: the CLI sets `report`, the walk
/// calls it after each batch with the share of the pfn range done (0...1).
public enum WalkProgress {
    nonisolated(unsafe) public static var report: (@Sendable (Double) -> Void)?
}
