/// The lookup tables of `--mode object` as data for the object (ObjectEmitter.Tables), in
/// the layout Emit/Templates/embed.c.in declares for LP64 targets:
///
///     NAME_files[n]       polybin_file { const char *name; const unsigned char *data; size_t size; }
///     NAME_stored[n]      struct polybin_stored { size_t offset; size_t size; int zstd; }
///     NAME_file_count     size_t n
///     NAME_payload_size   uint64_t, the bundle's size
///
/// `name` and `data` are the payload's address plus an offset (64-bit absolute relocations);
/// `data` of a compressed file is NULL. Computed from the layout alone: no payload byte.
enum EmbedTables {
    static let rowSize: UInt64 = 24

    static func tables(name: String, rows: [FilesPacker.Row], payloadSize: UInt64) -> ObjectEmitter.Tables {
        let count = UInt64(rows.count)
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(2 * rowSize * count + 16))
        var pointers: [ObjectEmitter.Tables.Pointer] = []
        pointers.reserveCapacity(2 * rows.count)
        for row in rows {
            let at = UInt64(bytes.count)
            pointers.append(.init(at: at, addend: row.nameOffset))
            // Compressed files have no in-place bytes: readers go through NAME_read.
            if !row.compressed { pointers.append(.init(at: at + 8, addend: row.storedOffset)) }
            bytes.appendLE(UInt64(0))
            bytes.appendLE(UInt64(0))
            bytes.appendLE(row.size)
        }
        for row in rows {
            bytes.appendLE(row.storedOffset)
            bytes.appendLE(row.storedSize)
            bytes.appendLE(UInt32(row.compressed ? 1 : 0))
            bytes.appendLE(UInt32(0))
        }
        bytes.appendLE(count)
        bytes.appendLE(payloadSize)
        return ObjectEmitter.Tables(
            section: ".data.rel.ro.polybin.\(name)", bytes: bytes, pointers: pointers,
            symbols: [
                .init(name: "\(name)_files", offset: 0, size: rowSize * count),
                .init(name: "\(name)_stored", offset: rowSize * count, size: rowSize * count),
                .init(name: "\(name)_file_count", offset: 2 * rowSize * count, size: 8),
                .init(name: "\(name)_payload_size", offset: 2 * rowSize * count + 8, size: 8),
            ])
    }
}
