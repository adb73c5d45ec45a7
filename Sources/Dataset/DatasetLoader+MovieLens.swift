extension DatasetLoader {
    /// MovieLens ratings: `u.data` (`user<TAB>item<TAB>rating<TAB>time`), `ratings.dat` (`user::item::rating::time`)
    /// or `ratings.csv` (`userId,movieId,rating,timestamp` with its header line). The separator is `::` if the first
    /// line holds one, else a tab if it holds one, else a comma. Ids must be non-negative integers; they are remapped
    /// dense in order of first appearance among the kept ratings and their original text kept as names. Ratings
    /// below `minRating` are left out (that is a filter, not an error); the rest are split by `split`.
    public static func movieLens(path: String, split: TemporalSplit, minRating: Double = 0) throws -> InteractionData {
        split.validate()
        let file = try TextFile.contents(of: path)
        var separator: [UInt8]? = nil
        var log = InteractionLog()
        var dataLines = 0
        try file.forEachLine { number, line in
            if Bytes.isBlankLine(line) { return }
            let sep: [UInt8]
            if let known = separator {
                sep = known
            } else {
                sep = line.contains(Bytes.colon) && Bytes.split(line, separator: [Bytes.colon, Bytes.colon]).count > 1
                    ? [Bytes.colon, Bytes.colon]
                    : line.contains(Bytes.tab) ? [Bytes.tab] : [Bytes.comma]
                separator = sep
            }
            let fields = Bytes.split(line, separator: sep).map(Bytes.trimmed)
            guard fields.count == 4 else {
                let name = sep.count == 2 ? "'::'" : sep[0] == Bytes.tab ? "tabs" : "commas"
                throw file.malformed(line: number,
                    "expected 4 fields (user, item, rating, timestamp) separated by \(name), found \(fields.count)")
            }
            if dataLines == 0 && sep == [Bytes.comma] && Bytes.number(fields[2]) == nil
                && Bytes.string(fields[0]).lowercased().hasPrefix("user") {
                dataLines = -1  // the header of ratings.csv
                return
            }
            dataLines = max(dataLines, 0) + 1
            _ = try Bytes.id(fields[0], what: "user id", file: file, line: number)
            _ = try Bytes.id(fields[1], what: "item id", file: file, line: number)
            guard let rating = Bytes.number(fields[2]) else {
                throw file.malformed(line: number, "rating \(Bytes.quoted(fields[2])) is not a number")
            }
            guard let time = Bytes.number(fields[3]) else {
                throw file.malformed(line: number, "timestamp \(Bytes.quoted(fields[3])) is not a number")
            }
            if rating >= minRating { log.append(user: fields[0], item: fields[1], timestamp: time) }
        }
        if dataLines <= 0 {
            throw DatasetError.invalid(path, file.bytes.isEmpty ? "the file is empty" : "the file has no ratings")
        }
        if log.users.isEmpty { throw DatasetError.invalid(path, "no rating is at least \(minRating)") }
        return log.split(split, name: lastPathComponent(parentDirectory(path)))
    }

    static func parentDirectory(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return parts.count >= 2 ? String(parts[parts.count - 2]) : String(parts.last ?? "")
    }
}
