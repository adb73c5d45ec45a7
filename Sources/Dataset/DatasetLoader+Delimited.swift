extension DatasetLoader {
    /// Words that mark a first line as a header (compared lowercased, with `_`, `-` and spaces removed).
    static let headerWords: Set<String> = [
        "user", "users", "userid", "uid", "item", "items", "itemid", "iid", "movieid", "productid",
        "timestamp", "time", "ts", "datetime", "date",
    ]

    /// A CSV (`,`) or TSV (tab) file of `user,item[,timestamp]` lines with arbitrary string ids.
    ///
    /// The delimiter comes from the extension (`.csv`, `.tsv`/`.tab`), else from the first line (a tab, else a
    /// comma). Every line must have the first line's field count (2 or 3). Fields are trimmed of blanks and of one
    /// pair of surrounding double quotes (quoted delimiters are not supported). The first line is a header, and
    /// dropped, when one of its fields is a header word (`user`, `user_id`, `item`, `itemId`, `timestamp`, …) or when
    /// its timestamp is not a number while the second line's is. Timestamps are numbers; without them the split
    /// follows file order. Ids are remapped dense in order of first appearance and kept as names.
    public static func delimited(path: String, split: TemporalSplit) throws -> InteractionData {
        split.validate()
        let file = try TextFile.contents(of: path)
        let lowered = path.lowercased()
        var delimiter: UInt8? = lowered.hasSuffix(".csv") ? Bytes.comma
            : lowered.hasSuffix(".tsv") || lowered.hasSuffix(".tab") ? Bytes.tab : nil

        // The first two non-blank lines decide the delimiter and whether line one is a header.
        var head = [(number: Int, fields: [String])]()
        try file.forEachLine { number, line in
            guard head.count < 2, !Bytes.isBlankLine(line) else { return }
            if delimiter == nil {
                if line.contains(Bytes.tab) {
                    delimiter = Bytes.tab
                } else if line.contains(Bytes.comma) {
                    delimiter = Bytes.comma
                } else {
                    throw file.malformed(line: number, "cannot tell the delimiter: the line has neither a comma nor a tab")
                }
            }
            head.append((number, Bytes.split(line, separator: [delimiter!]).map { Bytes.string(unquoted(Bytes.trimmed($0))) }))
        }
        guard let first = head.first, let delimiter else {
            throw DatasetError.invalid(path, file.bytes.isEmpty ? "the file is empty" : "the file has no interactions")
        }
        let headerLine = isHeader(first.fields, next: head.count > 1 ? head[1].fields : nil) ? first.number : nil
        let dataHead = headerLine == nil ? first : (head.count > 1 ? head[1] : nil)
        guard let dataHead else { throw DatasetError.invalid(path, "the file has a header but no interactions") }
        let fieldCount = dataHead.fields.count
        guard fieldCount == 2 || fieldCount == 3 else {
            throw file.malformed(line: dataHead.number, "expected user\(sepName(delimiter))item[\(sepName(delimiter))timestamp], found \(fieldCount) fields")
        }

        var log = InteractionLog()
        var order = 0.0
        try file.forEachLine { number, line in
            if number == headerLine || Bytes.isBlankLine(line) { return }
            let fields = Bytes.split(line, separator: [delimiter]).map { unquoted(Bytes.trimmed($0)) }
            guard fields.count == fieldCount else {
                throw file.malformed(line: number, "expected \(fieldCount) fields like line \(dataHead.number), found \(fields.count)")
            }
            if fields[0].isEmpty { throw file.malformed(line: number, "empty user id") }
            if fields[1].isEmpty { throw file.malformed(line: number, "empty item id") }
            var time = order
            if fieldCount == 3 {
                guard let t = Bytes.number(fields[2]) else {
                    throw file.malformed(line: number, "timestamp \(Bytes.quoted(fields[2])) is not a number")
                }
                time = t
            }
            order += 1
            log.append(user: fields[0], item: fields[1], timestamp: time)
        }
        let base = lastPathComponent(path)
        let name = base.contains(".") ? String(base[..<base.lastIndex(of: ".")!]) : base
        return log.split(split, name: name)
    }

    private static func sepName(_ delimiter: UInt8) -> String { delimiter == Bytes.tab ? "<TAB>" : "," }

    private static func unquoted(_ field: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        if field.count >= 2 && field.first == Bytes.quote && field.last == Bytes.quote {
            return UnsafeBufferPointer(rebasing: field[1 ..< field.count - 1])
        }
        return field
    }

    static func isHeader(_ fields: [String], next: [String]?) -> Bool {
        let words = fields.map { $0.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " } }
        if words.contains(where: headerWords.contains) { return true }
        if fields.count == 3, let next, next.count == 3 {
            return Double(fields[2]) == nil && Double(next[2]) != nil
        }
        return false
    }
}
