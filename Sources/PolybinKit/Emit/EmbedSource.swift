/// Fills Emit/Templates/embed.h.in and embed.c.in (compiled in as EmbedTemplates) for
/// one bundle: the header with the lookup API, and the C file with the payload definition,
/// the table of files and the lookup functions.
struct EmbedSource {
    /// The bundle's --name, already checked to be a C identifier.
    var name: String

    func header() -> String {
        fill(EmbedTemplates.header, ["NAME": name, "GUARD": "POLYBIN_EMBED_\(name)_H"])
    }

    /// The C file, in three parts to write one after the other: the text before the payload,
    /// `payload` itself (which defines `NAME_payload` and `NAME_payload_size`, or declares
    /// them when they come from another object), and the rest. A string-literal payload is
    /// several times the bundle's size: it is never copied into a String or joined.
    ///
    /// `--mode object` gets no rows: its tables are data polybin adds to the compiled object
    /// (EmbedObject), and the C file only declares them, the same for every tree.
    func source(mode: EmbedMode, rows: [FilesPacker.Row], payload: [UInt8]) -> [[UInt8]] {
        let p = "\(name)_payload"
        let inObject = mode == .object
        var files: [String] = [], stored: [String] = []
        for row in inObject ? [] : rows {
            // Compressed files have no in-place bytes: readers go through NAME_read.
            let data = row.compressed ? "NULL" : "\(p) + \(row.storedOffset)"
            files.append("    { (const char *)\(p) + \(row.nameOffset), \(data), \(row.size)u },")
            stored.append("    { \(row.storedOffset)u, \(row.storedSize)u, \(row.compressed ? 1 : 0) },")
        }
        if files.isEmpty {
            // C has no empty arrays: one unused row.
            files.append("    { NULL, NULL, 0 }")
            stored.append("    { 0, 0, 0 }")
        }
        let values = [
            "NAME": name, "MODE": mode.rawValue, "HEADER": header(),
            "ZSTD": rows.contains(where: \.compressed) ? "1" : "0", "TABLES_IN_OBJECT": inObject ? "1" : "0",
            "ROWS": "\(max(files.count, 1))", "COUNT": "\(inObject ? 0 : rows.count)",
            "FILES": files.joined(separator: "\n"), "STORED": stored.joined(separator: "\n"),
        ]
        let parts = EmbedTemplates.source.split(separator: "@PAYLOAD@", omittingEmptySubsequences: false)
        precondition(parts.count == 2, "Emit/Templates/embed.c.in holds @PAYLOAD@ exactly once")
        return [Array(fill(String(parts[0]), values).utf8), payload, Array(fill(String(parts[1]), values).utf8)]
    }

    /// Replaces every @KEY@ of `template` whose KEY is in `values`; any other `@` stays.
    private func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = template[...]
        while let start = rest.firstRange(of: "@") {
            out += rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            guard let end = after.firstRange(of: "@"), let value = values[String(after[..<end.lowerBound])] else {
                out += "@"
                rest = after
                continue
            }
            out += value
            rest = after[end.upperBound...]
        }
        return out + rest
    }
}
