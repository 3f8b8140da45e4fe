/// ELF note records (`namesz, descsz, type, name, desc`, 4-byte padded), as kdump files copy
/// them from the crashed kernel's PT_NOTE segment.
enum ELFNotes {
    /// The desc bytes of the first note called `name` (of note type `type` when given), or nil.
    /// Stops at the first malformed note.
    static func find(name wanted: String, type: UInt32? = nil, in notes: [UInt8]) -> ArraySlice<UInt8>? {
        var at = 0
        func padded(_ n: Int) -> Int { (n &+ 3) & ~3 }
        while at &+ 12 <= notes.count {
            let namesz = Int(notes.le(UInt32.self, at))
            let descsz = Int(notes.le(UInt32.self, at + 4))
            guard namesz <= notes.count, descsz <= notes.count else { return nil }
            let nameStart = at + 12
            let descStart = nameStart + padded(namesz)
            let next = descStart + padded(descsz)
            guard next <= notes.count, descStart + descsz <= notes.count else { return nil }
            let name = String(decoding: notes[nameStart..<(nameStart + namesz)].prefix { $0 != 0 }, as: UTF8.self)
            if name == wanted, type == nil || notes.le(UInt32.self, at + 8) == type { return notes[descStart..<(descStart + descsz)] }
            at = next
        }
        return nil
    }
}
