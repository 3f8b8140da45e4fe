import ArgumentParser
import Foundation

/// The file format of the vmcore vmsim writes (`--format`).
enum VMCoreFormat: String, CaseIterable, ExpressibleByArgument {
    case elf
    case kdumpZlib = "kdump-zlib"
    case kdumpLzo = "kdump-lzo"
    case kdumpSnappy = "kdump-snappy"
    case kdumpZstd = "kdump-zstd"
    /// makedumpfile -F's flattened stream of the kdump-zlib file.
    case flat

    var compression: PageCompression? {
        switch self {
        case .elf: return nil
        case .kdumpZlib, .flat: return .zlib
        case .kdumpLzo: return .lzo
        case .kdumpSnappy: return .snappy
        case .kdumpZstd: return .zstd
        }
    }

    /// Writes the simulated machine's memory; `exclude` filters it like makedumpfile -d 31.
    func write(sim: Simulator, to url: URL, exclude: Bool) throws {
        switch self {
        case .elf:
            if exclude { try FilteredELFWriter(sim: sim).write(to: url.path) }
            else { try VMCoreWriter(sim: sim).write(to: url) }
        case .flat:
            try KdumpWriter(sim: sim, compression: .zlib, exclude: exclude).write(to: FlattenedSink(path: url.path))
        case .kdumpZlib, .kdumpLzo, .kdumpSnappy, .kdumpZstd:
            try KdumpWriter(sim: sim, compression: compression!, exclude: exclude).write(to: FileSink(path: url.path))
        }
    }
}
