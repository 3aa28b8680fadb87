import Foundation
import Testing
@testable import KnowledgeBase

/// Calibrates and checks the confidence threshold on `CalibrationQuestions`, over the starter knowledge base.
///
/// Run `swift test --filter CalibrationTests` with `KB_CALIBRATION_REPORT=1` to print every question's
/// top score and coverage, and the threshold that separates answerable from unanswerable questions best:
/// that is how ``KnowledgeIndex/confidenceThreshold`` was chosen.
struct CalibrationTests {
    struct Observation {
        var question: String
        var score: Double
        var coverage: Double
        var answerable: Bool
        var confident: Bool
    }

    static func observe() throws -> [Observation] {
        let index = try starterIndex.get()
        var observations: [Observation] = []
        let questions =
            CalibrationQuestions.answerable.map { ($0.question, true) }
            + CalibrationQuestions.unanswerable.map { ($0, false) }
        for (question, answerable) in questions {
            let response = try index.search(question, limit: 1)
            let top = response.results.first
            let coverage = try index.writer.read { db in try index.topCoverage(db, question) }
            observations.append(
                Observation(
                    question: question, score: top?.score ?? 0, coverage: coverage, answerable: answerable,
                    confident: response.confident))
        }
        return observations
    }

    @Test func thresholdSeparatesAnswerableFromUnanswerable() throws {
        let observations = try Self.observe()
        let answerable = observations.filter(\.answerable)
        let unanswerable = observations.filter { !$0.answerable }
        let answered = answerable.filter(\.confident).count
        let abstained = unanswerable.filter { !$0.confident }.count
        if ProcessInfo.processInfo.environment["KB_CALIBRATION_REPORT"] != nil { Self.report(observations) }
        // At least 90% right on each side; the report shows the misses.
        #expect(Double(answered) >= 0.9 * Double(answerable.count), "answered \(answered)/\(answerable.count)")
        #expect(Double(abstained) >= 0.9 * Double(unanswerable.count), "abstained \(abstained)/\(unanswerable.count)")
    }

    @Test func answerableQuestionsFindTheirDocument() throws {
        let index = try starterIndex.get()
        var misses: [String] = []
        for (question, document) in CalibrationQuestions.answerable {
            let top = try index.search(question, limit: 1).results.first
            let answers = document.split(separator: "|").map(String.init)
            if !answers.contains(where: { top?.document.hasPrefix($0) ?? false }) {
                misses.append("\(question) → \(top?.document ?? "nothing")")
            }
        }
        #expect(Double(misses.count) <= 0.05 * Double(CalibrationQuestions.answerable.count), "\(misses)")
    }

    /// Prints the observations and the threshold with the fewest errors, as the calibration record.
    static func report(_ observations: [Observation]) {
        for observation in observations.sorted(by: { $0.score > $1.score }) {
            let mark = observation.answerable ? "A" : "-"
            print(
                String(
                    format: "%@ %7.3f cov %.2f %@ %@", mark, observation.score, observation.coverage,
                    observation.confident ? "yes" : "no ", observation.question))
        }
        var best = (threshold: 0.0, errors: Int.max)
        for step in 0...200 {
            let threshold = Double(step) * 0.1
            let errors = observations.filter { observation in
                let confident = observation.score >= threshold && observation.coverage >= KnowledgeIndex.minimumCoverage
                return confident != observation.answerable
            }.count
            if errors < best.errors { best = (threshold, errors) }
        }
        print(
            "best threshold \(best.threshold) with \(best.errors) errors out of \(observations.count); "
                + "current \(KnowledgeIndex.confidenceThreshold)")
    }
}
