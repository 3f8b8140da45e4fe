import SwiftProtobuf

/// A pprof profile (profile.proto, gzip-compressed) of the pages held per allocation stack.
/// Two sample types, pages/count and space/bytes; one location per distinct frame, whose
/// function is the symbol without its +offset/size (so pprof's -top adds up a function's
/// call sites); labels comm, pid, memcg and gfp where the samples carry them.
///
/// profile.pb.swift was generated once from profile.proto (beside it, from Debian's
/// golang-github-google-pprof-dev) with `protoc --swift_out=. --swift_opt=Visibility=Internal`
/// and protoc-gen-swift 1.39.0 built from apple/swift-protobuf; the package does not build
/// the generator.
public struct PprofProfile {
    public var pageSize: Int64
    public var comment: String

    public init(pageSize: Int64, comment: String) {
        self.pageSize = pageSize
        self.comment = comment
    }

    /// The gzipped profile.
    public func data(_ samples: [StackSample]) throws -> [UInt8] {
        try Gzip.compress(Array(try message(samples).serializedBytes() as [UInt8]))
    }

    func message(_ samples: [StackSample]) -> Perftools_Profiles_Profile {
        var strings = StringTable()
        var profile = Perftools_Profiles_Profile()
        func valueType(_ type: String, _ unit: String) -> Perftools_Profiles_ValueType {
            var v = Perftools_Profiles_ValueType()
            v.type = strings.index(type)
            v.unit = strings.index(unit)
            return v
        }
        profile.sampleType = [valueType("pages", "count"), valueType("space", "bytes")]
        profile.periodType = valueType("space", "bytes")
        profile.period = pageSize
        profile.comment = [strings.index(comment)]

        var locations: [String: UInt64] = [:]
        var functions: [String: UInt64] = [:]
        func location(_ frame: String) -> UInt64 {
            if let id = locations[frame] { return id }
            let name = Self.functionName(frame)
            let functionID: UInt64
            if let id = functions[name] {
                functionID = id
            } else {
                functionID = UInt64(functions.count + 1)
                functions[name] = functionID
                var f = Perftools_Profiles_Function()
                f.id = functionID
                f.name = strings.index(name)
                f.systemName = f.name
                profile.function.append(f)
            }
            let id = UInt64(locations.count + 1)
            locations[frame] = id
            var line = Perftools_Profiles_Line()
            line.functionID = functionID
            var l = Perftools_Profiles_Location()
            l.id = id
            l.line = [line]
            profile.location.append(l)
            return id
        }
        func label(_ key: String, _ value: String) -> Perftools_Profiles_Label {
            var l = Perftools_Profiles_Label()
            l.key = strings.index(key)
            l.str = strings.index(value)
            return l
        }

        for s in samples where s.pages > 0 {
            var sample = Perftools_Profiles_Sample()
            sample.locationID = (s.frames.isEmpty ? [StackSample.unknownFrame] : s.frames).map(location)
            sample.value = [s.pages, s.pages.multipliedReportingOverflow(by: pageSize).partialValue]
            if let comm = s.labels.comm { sample.label.append(label("comm", comm)) }
            if let pid = s.labels.pid {
                var l = Perftools_Profiles_Label()
                l.key = strings.index("pid")
                l.num = pid
                sample.label.append(l)
            }
            if let memcg = s.labels.memcg { sample.label.append(label("memcg", memcg)) }
            if let gfp = s.labels.gfp { sample.label.append(label("gfp", gfp)) }
            profile.sample.append(sample)
        }
        profile.stringTable = strings.strings
        return profile
    }

    /// `name+0xoff/0xsize [module]` -> `name [module]`; an address stays as it is.
    static func functionName(_ frame: String) -> String {
        guard let plus = frame.firstIndex(of: "+"), plus != frame.startIndex else { return frame }
        let name = frame[..<plus]
        if let bracket = frame.range(of: " [", range: plus..<frame.endIndex) {
            return String(name) + String(frame[bracket.lowerBound...])
        }
        return String(name)
    }
}

/// profile.proto's string_table: index 0 is "".
struct StringTable {
    private(set) var strings: [String] = [""]
    private var indexes: [String: Int64] = ["": 0]

    mutating func index(_ s: String) -> Int64 {
        if let i = indexes[s] { return i }
        let i = Int64(strings.count)
        strings.append(s)
        indexes[s] = i
        return i
    }
}
