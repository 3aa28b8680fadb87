import Foundation

/// A document written in the chat rather than imported from a file: an experience a territory shares.
public struct NewDocument: Sendable, Equatable {
    public var title: String
    /// Identifies the document: adding another with the same source replaces it.
    public var source: String
    /// "fr" or "en".
    public var language: String
    /// The territory that shared it, shown with every answer drawn from it.
    public var territory: String?
    public var tags: [String]
    public var markdown: String

    public init(
        title: String, source: String, language: String, territory: String? = nil, tags: [String] = [],
        markdown: String
    ) {
        self.title = title
        self.source = source
        self.language = language
        self.territory = territory
        self.tags = tags
        self.markdown = markdown
    }
}

/// The answer to a search: passages best first, and how sure the best one answers the question.
public struct SearchResponse: Sendable, Codable, Equatable {
    public var query: String
    /// True when the best result clears the calibrated threshold (see ``KnowledgeIndex/confidenceThreshold``).
    public var confident: Bool
    /// Confident, close but unsure, or nothing close enough to offer.
    public var confidence: Confidence
    public var results: [SearchResult]

    /// How well the best passage answers a question, deciding the kind of answer a person gets.
    public enum Confidence: String, Sendable, Codable, Equatable {
        /// The best passage answers: show it whole.
        case confident
        /// Passages are close but not sure to answer: offer the closest ones, one line each.
        case unsure
        /// Nothing in the knowledge base is close: say "I don't know".
        case unknown
    }

    public init(query: String, confidence: Confidence, results: [SearchResult]) {
        self.query = query
        self.confident = confidence == .confident
        self.confidence = confidence
        self.results = results
    }
}

public struct SearchResult: Sendable, Codable, Equatable {
    /// The title of the document the passage belongs to.
    public var document: String
    /// The heading path of the passage, "Becoming an ally › Informed signature"; the document title
    /// when the passage comes before any heading.
    public var heading: String
    public var source: String
    /// Where the document can be read in full, when its front matter or its import gave an address.
    public var url: String?
    /// The page the passage starts on, for documents with pages (PDF).
    public var page: Int?
    /// Higher is better; comparable between results of one query, and to the confidence threshold.
    public var score: Double
    /// About 300 characters around the matched words, Markdown-safe: the question's meaningful words are
    /// in `**bold**` and every other Markdown-special character is backslash-escaped.
    public var snippet: String
    /// The whole passage, Markdown-safe and highlighted like ``snippet``, line breaks kept: a confident answer.
    public var answer: String
    /// The passage's sentence that holds most of the question's words, on one line: an unsure answer.
    public var excerpt: String
    /// The whole passage, as Markdown.
    public var text: String
    public var language: String
    public var territory: String?

    public init(
        document: String, heading: String, source: String, url: String? = nil, page: Int? = nil, score: Double,
        snippet: String, answer: String = "", excerpt: String = "", text: String, language: String, territory: String?
    ) {
        self.document = document
        self.heading = heading
        self.source = source
        self.url = url
        self.page = page
        self.score = score
        self.snippet = snippet
        self.answer = answer
        self.excerpt = excerpt
        self.text = text
        self.language = language
        self.territory = territory
    }
}

/// Where an import is, for a progress line.
public struct ImportProgress: Sendable, Equatable {
    /// Files looked at so far, imported or not.
    public var processed: Int
    public var total: Int
    /// The file just looked at.
    public var path: String
}

/// What an import did. Files that could not be imported are listed with the reason; the others were
/// imported whole.
public struct ImportReport: Sendable, Equatable {
    public var added = 0
    public var updated = 0
    public var unchanged = 0
    public var removed = 0
    /// Passages written by this import (added and updated documents).
    public var passages = 0
    public var skipped: [SkippedFile] = []
    /// True when a synonyms file changed the synonyms searches use.
    public var synonymsUpdated = false

    public init() {}

    public struct SkippedFile: Sendable, Equatable {
        public var path: String
        public var reason: String
    }
}

public struct KnowledgeStats: Sendable, Codable, Equatable {
    public var documents: Int
    public var passages: Int
    /// Documents per language.
    public var languages: [String: Int]
    /// Documents shared by territories.
    public var sharedByTerritories: Int
    public var synonymGroups: Int
    public var lastImport: Date?
}

/// A knowledge base error, told in words a person can act on.
public enum KnowledgeError: Error, CustomStringConvertible, Sendable {
    case invalidDocument(source: String, reason: String)
    case invalidSynonyms(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidDocument(let source, let reason): "cannot add \(source): \(reason)"
        case .invalidSynonyms(let path, let reason): "cannot read synonyms \(path): \(reason)"
        }
    }
}
