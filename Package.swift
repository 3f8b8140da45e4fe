// swift-tools-version:6.0
import PackageDescription

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "vmowner",
    products: [
        .executable(name: "vmowner", targets: ["vmowner"]),
        .executable(name: "vmsim", targets: ["vmsim"]),
        .executable(name: "vmowner-fuzz", targets: ["vmowner-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // libdw/libelf from elfutils (Debian: libdw-dev libelf-dev), found through pkg-config.
        .systemLibrary(
            name: "CLibDW",
            path: "Sources/CLibDW",
            pkgConfig: "libdw",
            providers: [.apt(["libdw-dev", "libelf-dev"])]
        ),
        // zlib, lzo, snappy, zstd (kdump-compressed pages) and liblzma (.xz inputs).
        .systemLibrary(
            name: "CCompression",
            path: "Sources/CCompression",
            providers: [.apt(["zlib1g-dev", "liblzo2-dev", "libsnappy-dev", "libzstd-dev", "liblzma-dev"])]
        ),
        // Dump formats, ELF, DWARF types, symbols, address translation.
        .target(name: "ELFCore", dependencies: ["CLibDW", "CCompression"]),
        // page_ext, page_owner, stack depot and the other kernel walkers.
        .target(name: "DepotWalker", dependencies: ["ELFCore"]),
        // Folded stacks, flame graph SVG, pprof and snapshot diffs, on plain stacks of text.
        .target(name: "Exports", dependencies: ["CCompression", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["Pprof/profile.proto"]),
        // The command-line tool.
        .executableTarget(name: "vmowner", dependencies: ["ELFCore", "DepotWalker", "Exports", argumentParser]),
        // The dump simulator. It must never import the reader's modules.
        .executableTarget(name: "vmsim", dependencies: [argumentParser, "CCompression"]),
        // Fuzz targets. A plain build is a replay driver (`vmowner-fuzz TARGET FILE...`); built
        // with -sanitize=fuzzer,address -DLIBFUZZER it is a libFuzzer binary (see `make fuzz`).
        .executableTarget(name: "vmowner-fuzz", dependencies: ["ELFCore", "DepotWalker"]),

        .testTarget(name: "ELFCoreTests", dependencies: ["ELFCore", "CCompression"], exclude: ["Fixtures"]),
        .testTarget(name: "VMSimTests", dependencies: []),
        .testTarget(name: "ReaderTests", dependencies: ["ELFCore", "DepotWalker"]),
        // Replays Tests/FuzzRegressions/ through the vmowner-fuzz executable.
        .testTarget(name: "FuzzRegressionTests", dependencies: []),
    ],
    swiftLanguageModes: [.v5]
)
