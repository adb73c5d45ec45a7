import Foundation
import TestSupport
import XCTest

/// The report and `recommend` of real runs: a coordinator with two spawned worker processes on synthetic data, the
/// page rendered by headless Chromium, `coordinator report` overlaying runs, and `coordinator recommend`.
final class RunReportTests: XCTestCase {
    static let epochs = 3

    /// A short run with a validation split; returns its output directory.
    func train(_ name: String, in dir: URL, seed: Int = 42) throws -> URL {
        let output = dir.appendingPathComponent(name)
        let coordinator = try ProcessHarness.start("coordinator", [
            "--bind", "tcp://127.0.0.1:0", "--spawn-workers", "2", "--epochs", "\(Self.epochs)",
            "--synthetic-users", "600", "--synthetic-items", "400", "--batch-size", "768", "--negatives", "256",
            "--dim", "32", "--validation-fraction", "0.1", "--seed", "\(seed)", "--output", output.path,
            "--log-level", "warning",
        ], logName: "coordinator-\(name)", in: dir)
        XCTAssertEqual(coordinator.wait(seconds: 180), 0, coordinator.log)
        return output
    }

    /// Runs the coordinator executable to its end: (status, output and errors).
    func coordinator(_ arguments: [String], in dir: URL) throws -> (status: Int32?, output: String) {
        let p = try ProcessHarness.start("coordinator", arguments, logName: "cli-\(UUID().uuidString.prefix(6))", in: dir)
        return (p.wait(seconds: 60), p.log)
    }

    /// The point counts of the polylines whose `data-series` is `series`.
    func polylinePoints(_ html: String, series: String) -> [Int] {
        html.components(separatedBy: "<polyline").dropFirst()
            .filter { $0.contains("data-series=\"\(series)\"") }
            .map { $0.components(separatedBy: "points=\"")[1].components(separatedBy: "\"")[0].split(separator: " ").count }
    }

    func testARunWritesItsReportAndChromiumShowsIt() throws {
        let dir = try ProcessHarness.temporaryDirectory("run-report")
        let run = try train("run-a", in: dir)
        let lines = try ProcessHarness.jsonLines(run.appendingPathComponent("metrics.jsonl"))
        let end = try XCTUnwrap(lines.first { $0["event"] as? String == "end" })
        // Written at the start and after each epoch before the end (and once more at the end).
        XCTAssertGreaterThanOrEqual(end["report_writes"] as? Int ?? 0, Self.epochs + 1)
        // Writing it costs little next to training (about 15 ms a page in a debug build).
        let reportSeconds = try XCTUnwrap(end["report_seconds"] as? Double)
        XCTAssertLessThan(reportSeconds, 0.1 * (try XCTUnwrap(end["wall_seconds"] as? Double)))
        XCTAssertEqual(lines.filter { $0["event"] as? String == "member_joined" }.count, 2)
        XCTAssertEqual(lines.first?["similarity"] as? String, "cosine")
        let html = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        for title in ["Training loss", "Recall@20 per epoch", "NDCG@20 per epoch", "Throughput", "Time per step",
                      "Workers and epochs over time"] {
            XCTAssertTrue(html.contains("<title>\(title)"), "chart \(title) missing")
        }
        // Loss, Recall (test, validation), NDCG (test, validation), throughput, step time: one point per epoch.
        XCTAssertEqual(polylinePoints(html, series: "test"), [Self.epochs, Self.epochs])
        XCTAssertEqual(polylinePoints(html, series: "validation"), [Self.epochs, Self.epochs])
        XCTAssertEqual(polylinePoints(html, series: "").count, 2)
        XCTAssertTrue(html.contains("chosen on validation: epoch"))
        // The step's time split as far as the coordinator knows it: waiting for gradients, and the optimizer.
        let epochEvents = lines.filter { $0["event"] as? String == "epoch" }
        XCTAssertEqual(epochEvents.count, Self.epochs)
        for e in epochEvents {
            XCTAssertGreaterThan(e["step_wait_seconds"] as? Double ?? -1, 0, "\(e)")
            XCTAssertGreaterThan(e["step_optimizer_seconds"] as? Double ?? -1, 0, "\(e)")
        }
        XCTAssertEqual(polylinePoints(html, series: "waiting for workers"), [Self.epochs])
        XCTAssertEqual(polylinePoints(html, series: "optimizer"), [Self.epochs])
        XCTAssertEqual(html.components(separatedBy: "<g class=\"event joined\"").count - 1, 2)
        XCTAssertTrue(html.contains("finished"))
        XCTAssertFalse(html.lowercased().contains("<script"))

        // `coordinator report RUN_DIR` makes the same page from metrics.jsonl (all but the time it was made).
        try FileManager.default.removeItem(at: run.appendingPathComponent("report.html"))
        let again = try coordinator(["report", run.path], in: dir)
        XCTAssertEqual(again.status, 0, again.output)
        let remade = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        func withoutStamp(_ s: String) -> String { s.components(separatedBy: "<footer>")[0] }
        XCTAssertEqual(withoutStamp(remade), withoutStamp(html))

        try screenshot(run.appendingPathComponent("report.html"), dir: dir)
    }

    /// Renders the page in headless Chromium at a laptop's 1366 × 900 and checks that the picture is not blank.
    func screenshot(_ page: URL, dir: URL) throws {
        guard let chromium = ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap(Self.which).first else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("chromium is not installed in CI (scripts/setup.sh installs Debian's chromium)")
                return
            }
            throw XCTSkip("chromium is not installed (scripts/setup.sh installs it): the report was not rendered")
        }
        let png = ProcessInfo.processInfo.environment["MBT_REPORT_SCREENSHOT"].map { URL(fileURLWithPath: $0) }
            ?? dir.appendingPathComponent("report.png")
        let profile = dir.appendingPathComponent("chromium-profile")
        let browser = try ProcessHarness.start(chromium, [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--user-data-dir=\(profile.path)", "--screenshot=\(png.path)", "--window-size=1366,900", page.absoluteString,
        ], logName: "chromium", in: dir, absolute: true)
        XCTAssertEqual(browser.wait(seconds: 90), 0, browser.log)
        let stats = try ProcessHarness.start("/usr/bin/env", ["python3", "-c", Self.pngStatistics, png.path],
                                             logName: "png", in: dir, absolute: true)
        XCTAssertEqual(stats.wait(seconds: 60), 0, stats.log)
        let numbers = stats.log.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        XCTAssertEqual(numbers.count, 5, stats.log)
        guard numbers.count == 5 else { return }
        let (width, height, colours, inked, blue) = (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4])
        XCTAssertEqual(width, 1366)
        XCTAssertEqual(height, 900)
        XCTAssertGreaterThan(colours, 50, "a page of text and charts has many colours (anti-aliasing)")
        XCTAssertGreaterThan(inked, 0.02, "fraction of non-white pixels")
        XCTAssertLessThan(inked, 0.6, "fraction of non-white pixels")
        XCTAssertGreaterThan(blue, 200, "pixels of the first series' colour #0072B2: the curves are drawn")
        print("report screenshot: \(png.path) (\(Int(colours)) colours, \(String(format: "%.1f", inked * 100)) % inked)")
    }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Prints "width height distinct-colours non-white-fraction blue-pixels" of an 8-bit RGB(A) PNG, with the
    /// standard library only (zlib and the five PNG row filters).
    static let pngStatistics = #"""
        import sys, zlib, struct
        data = open(sys.argv[1], "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        pos, idat, ihdr = 8, b"", None
        while pos < len(data):
            n, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + n]
            if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
            elif kind == b"IDAT": idat += body
            pos += 12 + n
        w, h, depth, ctype = ihdr[:4]
        assert depth == 8 and ctype in (2, 6), f"unsupported PNG: depth {depth} colour type {ctype}"
        bpp = 3 if ctype == 2 else 4
        raw, stride = zlib.decompress(idat), w * bpp
        prev, colours, inked, blue = bytearray(stride), set(), 0, 0
        for y in range(h):
            f = raw[y * (stride + 1)]
            line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                if f == 1: line[i] = (line[i] + a) & 255
                elif f == 2: line[i] = (line[i] + b) & 255
                elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
                elif f == 4:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            for x in range(0, stride, bpp):
                r, g, bl = line[x], line[x + 1], line[x + 2]
                colours.add((r, g, bl))
                if r < 245 or g < 245 or bl < 245: inked += 1
                if abs(r - 0) < 40 and abs(g - 114) < 40 and abs(bl - 178) < 40: blue += 1
            prev = line
        print(w, h, len(colours), inked / (w * h), blue)
        """#

    func testReportOverlaysRunsAndSaysWhatIsWrong() throws {
        let dir = try ProcessHarness.temporaryDirectory("report-overlay")
        let a = try train("seed-42", in: dir)
        let b = try train("seed-7", in: dir, seed: 7)
        let page = dir.appendingPathComponent("both.html")
        let overlay = try coordinator(["report", a.path, b.path, "--output", page.path], in: dir)
        XCTAssertEqual(overlay.status, 0, overlay.output)
        let html = try String(contentsOf: page, encoding: .utf8)
        XCTAssertEqual(polylinePoints(html, series: "seed-42 test"), [Self.epochs, Self.epochs])
        XCTAssertEqual(polylinePoints(html, series: "seed-7 test"), [Self.epochs, Self.epochs])
        XCTAssertTrue(html.contains(">seed-7 validation</text>"), "legend")
        XCTAssertTrue(html.contains("<th>seed-42</th><th>seed-7</th>"))

        let several = try coordinator(["report", a.path, b.path], in: dir)
        XCTAssertNotEqual(several.status, 0)
        XCTAssertTrue(several.output.contains("--output"), several.output)
        let missing = try coordinator(["report", dir.appendingPathComponent("nope").path], in: dir)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("nope/metrics.jsonl: no such file"), missing.output)
        let garbled = dir.appendingPathComponent("garbled")
        try FileManager.default.createDirectory(at: garbled, withIntermediateDirectories: true)
        let text = try String(contentsOf: a.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        lines[2] = "{\"event\": oops"
        try (lines.joined(separator: "\n") + "\n").write(to: garbled.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        let bad = try coordinator(["report", garbled.path], in: dir)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.output.contains("garbled/metrics.jsonl:3: not a JSON object"), bad.output)

        // recommend: original ids, k lines, training items left out; clear errors.
        let users = try String(contentsOf: a.appendingPathComponent("users.tsv"), encoding: .utf8)
            .split(separator: "\n").prefix(3).map { String($0.split(separator: "\t")[1]) }
        let one = try coordinator(["recommend", "--run", a.path, "--user", users[0], "--k", "7"], in: dir)
        XCTAssertEqual(one.status, 0, one.output)
        let rows = one.output.split(separator: "\n").filter { $0.hasPrefix(users[0] + "\t") }
        XCTAssertEqual(rows.map { Int($0.split(separator: "\t")[1]) }, Array(1 ... 7))
        // None of them is among the user's training pairs (seen_pairs.npy: uint32 (user, item) dense ids).
        let seen = try ProcessHarness.readNpy(a.appendingPathComponent("seen_pairs.npy")).values.map(\.bitPattern)
        let itemNames = try String(contentsOf: a.appendingPathComponent("items.tsv"), encoding: .utf8)
            .split(separator: "\n").map { String($0.split(separator: "\t")[1]) }
        let seenByFirst = Set(stride(from: 0, to: seen.count, by: 2).filter { seen[$0] == 0 }.map { itemNames[Int(seen[$0 + 1])] })
        XCTAssertFalse(seenByFirst.isEmpty)
        XCTAssertTrue(seenByFirst.isDisjoint(with: rows.map { String($0.split(separator: "\t")[2]) }))
        let list = dir.appendingPathComponent("users.txt")
        try (users.joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let tsv = dir.appendingPathComponent("recs.tsv")
        let many = try coordinator(["recommend", "--run", a.path, "--users", list.path, "--output", tsv.path], in: dir)
        XCTAssertEqual(many.status, 0, many.output)
        let written = try String(contentsOf: tsv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(written.first, "user\trank\titem\tscore")
        XCTAssertEqual(written.count, 1 + 3 * 20)
        let unknown = try coordinator(["recommend", "--run", a.path, "--user", "no-such-user"], in: dir)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.output.contains("user no-such-user is not in"), unknown.output)
        let zero = try coordinator(["recommend", "--run", a.path, "--user", users[0], "--k", "0"], in: dir)
        XCTAssertNotEqual(zero.status, 0)
        XCTAssertTrue(zero.output.contains("--k must be at least 1"), zero.output)
    }
}
