import ArgumentParser
import BotCore
import Foundation
import KnowledgeBase
import WebFetch

/// `fabrique kb`: import, search and inspect the knowledge base from a terminal or a script.
///
/// `kb search --json` is a contract scripts depend on: one JSON object
/// `{"query", "confident", "results": [{"document", "heading", "source", "score", "snippet", "text"}]}`.
struct KBCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kb",
        abstract: "Import, search and inspect the knowledge base.",
        subcommands: [Import.self, Search.self, Stats.self, Remove.self, Eval.self])

    struct DatabaseOptions: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("Database file (default: the user's data directory).", valueName: "file"))
        var db: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Folder of the sentence model for hybrid retrieval (scripts/model-setup; default: $FABRIQUE_MODEL_DIR or .fabrique-model).",
                valueName: "folder"))
        var model: String?

        /// The knowledge base, with the sentence model when it is there (said once on standard error when not).
        func openIndex() throws -> KnowledgeIndex {
            do {
                let store = try StateStore(path: db ?? DefaultPaths.database())
                return try KnowledgeIndex(writer: store.writer, sentenceModel: KBCommand.modelSource(model))
            } catch {
                throw UserFacingError(description: "\(error)")
            }
        }
    }

    /// The sentence model of `folder` (or the default one), loaded when first needed; its absence is said once.
    static func modelSource(_ folder: String?) -> SentenceModelSource {
        SentenceModelSource(directory: folder ?? DefaultPaths.model()) { reason in
            FileHandle.standardError.write(Data("fabrique: \(reason)\n".utf8))
        }
    }

    /// Computes the vectors of passages that have none, with a progress line on a terminal.
    static func embedPassages(_ index: KnowledgeIndex) throws {
        let showsProgress = isatty(FileHandle.standardError.fileDescriptor) != 0
        let computed = try index.embedMissingPassages { done, total in
            guard showsProgress else { return }
            FileHandle.standardError.write(Data("\rembedding passages: \(done)/\(total)\(done == total ? "\n" : "")".utf8))
        }
        if computed > 0 { print("\(computed) passage vectors computed") }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Import Markdown, text, HTML, PDF, DOCX and ODT files or folders, or web pages; unchanged files are skipped, deleted ones removed.",
            discussion: """
                A file named synonyms.yaml sets the synonyms used by searches. An http:// or https:// address is \
                fetched if the site's robots.txt allows it (at most 5 MB, 20 seconds) and imported under its address.
                """)

        @Argument(help: ArgumentHelp("Files or folders to import, or web page addresses.", valueName: "path"))
        var paths: [String]

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if paths.isEmpty { throw ValidationError("Give at least one file or folder to import.") }
        }

        func run() throws {
            let index = try database.openIndex()
            let addresses = paths.filter { $0.hasPrefix("http://") || $0.hasPrefix("https://") }
            var pagesImported = 0
            var pagesFailed = 0
            for address in addresses {
                do {
                    let page = try WebPageFetcher().fetch(address)
                    if try index.importWebPage(html: page.html, url: page.url) { pagesImported += 1 }
                } catch let failure as WebPageFetcher.Failure {
                    pagesFailed += 1
                    FileHandle.standardError.write(Data("skipped \(address): \(failure.description)\n".utf8))
                } catch let error as KnowledgeError {
                    pagesFailed += 1
                    FileHandle.standardError.write(Data("skipped \(address): \(error.description)\n".utf8))
                }
            }
            if !addresses.isEmpty { print("web pages: \(pagesImported) imported, \(pagesFailed) skipped") }
            let files = paths.filter { !addresses.contains($0) }
            if files.isEmpty { return }
            let showsProgress = isatty(FileHandle.standardError.fileDescriptor) != 0
            let report = try index.importPaths(files) { progress in
                // A progress line only for imports long enough to wait for.
                guard showsProgress, progress.total > 256 else { return }
                let line = "\rimporting: \(progress.processed)/\(progress.total) files"
                FileHandle.standardError.write(Data((progress.processed == progress.total ? line + "\n" : line).utf8))
            }
            for skipped in report.skipped {
                FileHandle.standardError.write(Data("skipped \(skipped.path): \(skipped.reason)\n".utf8))
            }
            var summary = "\(report.added) added, \(report.updated) updated, \(report.unchanged) unchanged, "
            summary += "\(report.removed) removed, \(report.skipped.count) skipped; \(report.passages) passages written"
            if report.synonymsUpdated { summary += "; synonyms updated" }
            print(summary)
            try KBCommand.embedPassages(index)
        }
    }

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search the knowledge base with a question, best passages first.")

        @Argument(help: ArgumentHelp("The question (several words are joined).", valueName: "query"))
        var query: [String]

        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "How many results to show.")
        var limit = 5

        @Flag(name: .long, help: "Print one JSON object: query, confident, results.")
        var json = false

        func validate() throws {
            if query.isEmpty { throw ValidationError("Give a question to search for.") }
            if limit < 1 { throw ValidationError("--limit must be at least 1.") }
        }

        func run() throws {
            let question = query.joined(separator: " ")
            let index = try database.openIndex()
            if try index.isEmpty() {
                FileHandle.standardError.write(
                    Data("fabrique: the knowledge base is empty; import documents with `fabrique kb import PATH`\n".utf8))
            }
            let response = try index.search(question, limit: limit)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(SearchOutput(response)), as: UTF8.self))
                return
            }
            if response.results.isEmpty {
                print("No passage matches.")
                return
            }
            if !response.confident { print("Not confident: these are the closest passages.\n") }
            for (rank, result) in response.results.enumerated() {
                let heading = result.heading == result.document ? "" : " › " + result.heading
                print("\(rank + 1). \(result.document)\(heading)  [score \(String(format: "%.2f", result.score))]")
                print("   \(result.snippet)")
                var source = result.source
                if let page = result.page { source += ", page \(page)" }
                if let url = result.url, url != result.source { source += " (\(url))" }
                print("   \(source)\n")
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count documents, passages and synonyms.")

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let stats = try database.openIndex().stats()
            print("documents: \(stats.documents)")
            for (language, count) in stats.languages.sorted(by: { $0.key < $1.key }) {
                print("  \(language): \(count)")
            }
            print("shared by territories: \(stats.sharedByTerritories)")
            print("passages: \(stats.passages)")
            print("synonym groups: \(stats.synonymGroups)")
            if let last = stats.lastImport { print("last import: \(ISO8601DateFormatter().string(from: last))") }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a document by its source (the path it was imported from, or its shared source).")

        @Argument(help: ArgumentHelp("The document's source.", valueName: "source"))
        var source: String

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let index = try database.openIndex()
            // Imported files are known by their absolute path; accept the path as typed too.
            let candidates = [source, KnowledgeIndex.sourceIdentifier(forPath: source)]
            for candidate in candidates where try index.remove(source: candidate) {
                print("removed \(candidate)")
                return
            }
            throw UserFacingError(description: "no document with source \(source) (see `fabrique kb search` for sources)")
        }
    }
}

extension KBCommand {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure answers on an evaluation set: hit@1, hit@3, abstention and latency, per retrieval system.",
            discussion: """
                The set is a tab-separated file (see Benchmarks/kb/eval/questions.tsv); the knowledge base is imported \
                into memory (or --db) from every --knowledge folder (by default the starter knowledge base). With the \
                sentence model, the dense, RRF and hybrid columns print too. --calibrate prints the thresholds and the \
                hybrid weights that fit the calibration part best, the only part they may be tuned on.
                """)

        @Argument(help: ArgumentHelp("The evaluation set.", valueName: "file"))
        var file: String

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Folder of the knowledge base to evaluate; repeat it for several (default: the starter one).", valueName: "folder"))
        var knowledge: [String] = []

        @Option(name: .long, help: "Times each question is asked, for the latency percentiles.")
        var rounds = 5

        @Option(name: .long, help: ArgumentHelp("Which part to report: reported, calibration or all.", valueName: "part"))
        var part = "reported"

        @Flag(name: .long, help: "Print the thresholds and hybrid weights that fit the calibration part best.")
        var calibrate = false

        @Flag(name: .long, help: "List every question the systems answer wrongly.")
        var misses = false

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Folder of the sentence model (scripts/model-setup; default: $FABRIQUE_MODEL_DIR or .fabrique-model) for the dense and hybrid columns.",
                valueName: "folder"))
        var model: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Database file to import into (default: in memory); its passage vectors are kept for the next run.", valueName: "file"))
        var db: String?

        func validate() throws {
            if rounds < 1 { throw ValidationError("--rounds must be at least 1.") }
            if !["reported", "calibration", "all"].contains(part) {
                throw ValidationError("--part must be reported, calibration or all.")
            }
        }

        func run() throws {
            let questions: [EvaluationQuestion]
            do {
                questions = try EvaluationSet.parse(try String(contentsOfFile: file, encoding: .utf8))
            } catch {
                throw UserFacingError(description: "cannot read the evaluation set \(file): \(error)")
            }
            let folders = knowledge.isEmpty ? DefaultPaths.knowledge(nil).map { [$0] } ?? [] : knowledge
            guard !folders.isEmpty else {
                throw UserFacingError(description: "no knowledge base folder found; give one with --knowledge")
            }
            let store = try StateStore(path: db)
            let source = KBCommand.modelSource(model)
            let index = try KnowledgeIndex(writer: store.writer, sentenceModel: source)
            let report = try index.importPaths(folders)
            for skipped in report.skipped {
                FileHandle.standardError.write(Data("skipped \(skipped.path): \(skipped.reason)\n".utf8))
            }
            let stats = try index.stats()
            try KBCommand.embedPassages(index)
            let withModel = source.model != nil
            if calibrate {
                let calibration = questions.filter { $0.part == .calibration }
                let observations = try index.evaluate(calibration, rounds: 1, systems: [.ours])
                let fit = KnowledgeIndex.calibrate(observations)
                print(
                    "calibration part (\(calibration.count) questions), our BM25: "
                        + "confident from \(fmt(fit.confident, 1)) (\(fit.confidentErrors) wrong decisions; "
                        + "current \(fmt(KnowledgeIndex.confidenceThreshold, 1))), "
                        + "unsure from \(fmt(fit.unsure, 1)) (\(fit.unsureErrors) wrong; current \(fmt(KnowledgeIndex.unsureThreshold, 1)))"
                )
                if withModel {
                    let samples = try index.hybridSamples(calibration)
                    let hybrid = HybridFusion.calibrate(samples)
                    let hits = HybridFusion.hits(samples, weights: hybrid.weights)
                    let current = HybridFusion.hits(samples, weights: .calibrated)
                    print(
                        "hybrid: \(hybrid.weights) (hit@1 \(hits.at1), hit@3 \(hits.at3) of \(samples.filter { !$0.expected.isEmpty }.count); "
                            + "\(hybrid.confidentErrors) wrong confidence decisions, \(hybrid.unsureErrors) wrong abstentions)")
                    print("current hybrid weights: \(HybridWeights.calibrated) (hit@1 \(current.at1), hit@3 \(current.at3))")
                }
                return
            }
            let chosen = questions.filter { part == "all" || $0.part.rawValue == part }
            let observations = try index.evaluate(chosen, rounds: rounds)
            let languages = Dictionary(grouping: chosen, by: \.language).mapValues(\.count)
            print(
                "\(chosen.count) questions (\(part) part: \(languages["en"] ?? 0) EN, \(languages["fr"] ?? 0) FR) over "
                    + "\(stats.documents) documents, \(stats.passages) passages; median of \(rounds) runs per query")
            let systems = RetrievalSystem.available(withModel: withModel)
            // The kinds of answer counted are the chat's: hybrid when the model is there.
            let answering: RetrievalSystem = withModel ? .hybrid : .ours
            print(
                "kind           lang   n  " + systems.map { $0.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0) }.joined()
                    + answering.rawValue + " answers")
            print("                          " + systems.map { _ in "hit@1 hit@3   " }.joined() + "confident unsure unknown")
            for kind in EvaluationQuestion.Kind.allCases where kind != .offTopic {
                for language in ["en", "fr", nil] {
                    let rows = observations.filter { $0.question.kind == kind && (language == nil || $0.question.language == language) }
                    guard !rows.isEmpty else { continue }
                    var line = kind.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0)
                    line += (language ?? "both").padding(toLength: 5, withPad: " ", startingAt: 0)
                    let count = rows.filter { $0.system == .ours }.count
                    line += String(format: "%3d  ", count)
                    for system in systems {
                        let mine = rows.filter { $0.system == system }
                        line += fmt(share(mine, \.hitAt1), 2) + "  " + fmt(share(mine, \.hitAt3), 2) + "    "
                    }
                    let ours = rows.filter { $0.system == answering }
                    for kind in [SearchResponse.Confidence.confident, .unsure, .unknown] {
                        line += fmt(share(ours) { $0.confidence == kind }, 2) + "      "
                    }
                    print(line)
                }
            }
            let offTopic = observations.filter { $0.question.kind == .offTopic }
            if !offTopic.isEmpty {
                var line = "off-topic      both " + String(format: "%3d  ", offTopic.count / systems.count) + "abstention: "
                line += systems.map { system in
                    "\(system.rawValue) " + fmt(share(offTopic.filter { $0.system == system }, \.abstained), 2)
                }.joined(separator: ", ")
                for system in systems where system == .ours || system == .hybrid {
                    line +=
                        "; \(system.rawValue) unsure " + fmt(share(offTopic.filter { $0.system == system }) { $0.confidence == .unsure }, 2)
                }
                print(line)
            }
            for system in systems where system == .ours || system == .hybrid {
                let answerable = observations.filter { $0.system == system && $0.question.kind != .offTopic }
                let confident = answerable.filter { $0.confidence == .confident }
                print(
                    "\(system.rawValue): confident on \(fmt(share(answerable) { $0.confidence == .confident }, 2)) of answerable questions, "
                        + "right at rank 1 when confident \(fmt(share(confident, \.hitAt1), 2))")
            }
            for system in systems {
                let times = observations.filter { $0.system == system }.map(\.milliseconds).sorted()
                guard !times.isEmpty else { continue }
                print(
                    "latency \(system.rawValue): p50 \(fmt(percentile(times, 0.5), 3)) ms, p99 \(fmt(percentile(times, 0.99), 3)) ms")
            }
            let cached = observations.compactMap(\.cachedMilliseconds).sorted()
            if !cached.isEmpty {
                print(
                    "latency hybrid, question's vector cached: p50 \(fmt(percentile(cached, 0.5), 3)) ms, p99 \(fmt(percentile(cached, 0.99), 3)) ms"
                )
            }
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            print(
                "memory: max RSS \(fmt(Double(usage.ru_maxrss) / 1024, 1)) MiB (\(withModel ? "sentence model loaded" : "no sentence model")); "
                    + "load average \(loadAverage())")
            if misses {
                for observation in observations
                where observation.question.kind == .offTopic ? !observation.abstained : !observation.hitAt1 {
                    let got = observation.documents.first ?? "nothing"
                    print(
                        "miss [\(observation.system.rawValue)] \(observation.question.kind.rawValue) \(observation.question.question) → \(got)"
                            + (observation.confidence.map { " (\($0.rawValue), \(fmt(observation.topScore, 1)))" } ?? ""))
                }
            }
        }

        private func percentile(_ sorted: [Double], _ share: Double) -> Double {
            sorted[min(sorted.count - 1, Int(Double(sorted.count) * share))]
        }

        private func loadAverage() -> String {
            var loads = [Double](repeating: 0, count: 3)
            guard getloadavg(&loads, 3) == 3 else { return "unknown" }
            return loads.map { fmt($0, 2) }.joined(separator: " ")
        }

        private func share(
            _ rows: [EvaluationObservation], _ predicate: (EvaluationObservation) -> Bool
        ) -> Double {
            rows.isEmpty ? 0 : Double(rows.filter(predicate).count) / Double(rows.count)
        }

        private func fmt(_ value: Double, _ decimals: Int) -> String {
            String(format: "%.\(decimals)f", value)
        }
    }
}

/// The JSON of `kb search --json`, exactly the keys of the CLI contract.
private struct SearchOutput: Encodable {
    var query: String
    var confident: Bool
    var results: [Result]

    struct Result: Encodable {
        var document: String
        var heading: String
        var source: String
        var score: Double
        var snippet: String
        var text: String
    }

    init(_ response: SearchResponse) {
        query = response.query
        confident = response.confident
        results = response.results.map {
            Result(
                document: $0.document, heading: $0.heading, source: $0.source,
                score: ($0.score * 10_000).rounded() / 10_000, snippet: $0.snippet, text: $0.text)
        }
    }
}
