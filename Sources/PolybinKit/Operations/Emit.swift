/// The emit stage as the `object` and `generate-c` verbs run it: a bundle file becomes a
/// relocatable object or a C translation unit. The bundle is checked in place by the C reader
/// and then copied (by the kernel into the object, a MiB at a time into the C literal): it is
/// never read whole into memory.
public enum Emit {
    /// `polybin object`: the bundle in `section` of a relocatable object for `target` (a
    /// fatbin's own architecture when nil, else this machine's), `symbol` at its start and
    /// `symbol`_size holding its size.
    public static func object(bundle: String, output: String, symbol: String = Fatbin.payloadSymbol,
                              section: String = Fatbin.payloadSection, target: Architecture? = nil,
                              progress: Progress = .silent) throws {
        try OutputRule.check(output, inputs: [(bundle, "the bundle it is made from")])
        let opened = try LoadedBundle.mappedBundleFile(bundle), size = UInt64(opened.file.count)
        let arch = try Architecture.target(target?.name, fatbinArch: opened.arch, path: bundle)
        let layout = ObjectEmitter(symbol: symbol, section: section, machine: .init(arch)).layout(payloadSize: size)
        let input = try Files.openForReading(FilePath(bundle))
        defer { try? input.close() }
        try Files.create(FilePath(output)) { fd in
            try fd.resize(to: layout.size)
            try layout.writeAround(into: fd)
            progress.begin("writing", total: size)
            try fd.copy(from: input, at: 0, count: size, to: layout.payloadOffset, progress: progress)
        }
    }

    /// `polybin generate-c`: the bundle as a self-contained C file defining `symbol` in
    /// `section`. The C is the same for every architecture; a fatbin of another architecture
    /// than `target` is refused.
    public static func c(bundle: String, output: String, symbol: String = Fatbin.payloadSymbol,
                         section: String = Fatbin.payloadSection, target: Architecture? = nil,
                         progress: Progress = .silent) throws {
        try OutputRule.check(output, inputs: [(bundle, "the bundle it is made from")])
        progress.begin("writing C", total: 0)
        let opened = try LoadedBundle.mappedBundleFile(bundle), size = UInt64(opened.file.count)
        _ = try Architecture.target(target?.name, fatbinArch: opened.arch, path: bundle)
        let name = String(bundle.split(separator: "/").last ?? Substring(bundle))
        let emitter = CEmitter(symbol: symbol, section: section)
        let input = try Files.openForReading(FilePath(bundle))
        defer { try? input.close() }
        try Files.create(FilePath(output)) { fd in
            try fd.write(emitter.sourcePrefix(generatedFrom: name))
            try emitter.writeDefinitions(size: size, to: fd.write) { literal in
                try input.stream(count: size, literal.write)
            }
        }
    }
}
