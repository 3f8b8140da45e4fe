import Exports
import Foundation

/// JSON and CSV, the structured formats every report shares.
enum JSONText {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}

enum CSV {
    /// RFC 4180 quoting where a field needs it.
    static func field(_ s: String) -> String { CSVField.quote(s) }
}
