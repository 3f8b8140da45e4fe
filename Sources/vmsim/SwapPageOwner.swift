import Foundation

enum SwapPageOwnerDeclarations {
    static let types = ""
    static let globals = ""
    static let layoutQueries: [(key: String, expr: String)] = []
}

struct SwapPageOwnerWriter {
    let sim: Simulator
    func write() throws {}
    func writeExpected(_ dir: URL, stackText: [UInt32: String]) throws {}
}
