import Foundation

/// Where one run of a dialogue stands. Stored as JSON by BotCore's state store (the shape is in
/// `DialogueSession+JSON.swift`); everything the interpreter needs to resume after a restart is here,
/// including the attempt count.
public struct DialogueSession: Sendable, Hashable {
    public enum Status: String, Sendable { case active, paused, ended }
    public enum Phase: String, Sendable {
        /// Waiting for the answer to the current question.
        case answer
        /// The answer is in; waiting for the optional comment.
        case comment
        /// After `summary`: waiting for the number of the answer to change.
        case choosingChange
    }

    public var dialogueID: String
    /// The script revision this session was last run with.
    public var revision: String
    /// Current step (a question), nil once ended.
    public var stepID: String?
    public var phase: Phase
    /// Failed attempts at the current question.
    public var attempts: Int
    public var status: Status
    /// Latest value per saved variable (what conditions and the summary read).
    public var answers: [String: AnswerValue]
    /// Who gave the latest value, per variable.
    public var authors: [String: String]
    /// Number of answers recorded per step (several in room dialogues that collect many).
    public var answerCounts: [String: Int]
    /// Steps a facilitator marked as discussed.
    public var discussed: [String]
    /// Questions asked, most recent last, for `back`.
    public var history: [String]
    /// Items gathered so far by a `list` question.
    public var listDraft: [String]
    /// The list question those items belong to.
    public var listDraftFor: String?
    /// After changing an answer from the summary, where to go back to.
    public var returnTo: String?
    /// Variable of the answer waiting for its comment.
    public var commentFor: String?
    /// Who gave that answer: only their next message is read as the comment.
    public var commentBy: String?
    /// In steps that collect many answers, each person's answer waits for their own comment: person id → step id.
    public var pendingComments: [String: String] = [:]
    /// Which run of its session key this is (1, 2… after each start or restart): an answer anchored on an
    /// earlier run's question does not land in this one.
    public var run: Int = 1
    /// Room runs: failed attempts at the current question, per person id.
    public var attemptsBy: [String: Int] = [:]
    /// Room runs: each person's latest answer, per step id then person id (one answer per person).
    public var byPerson: [String: [String: AnswerValue]] = [:]
    public var startedAt: Date
    public var updatedAt: Date
    /// Room runs: a person whose own answers took a branch the room does not follow has a follow-up of
    /// their own, per person id.
    public var followUps: [String: FollowUp] = [:]
    /// What each question meant when this run last showed it (its kind, options and scale, as a
    /// fingerprint; see ``Step/meaning(scales:)``): an answer to a question whose meaning changed since is not
    /// stored, the question is shown again.
    public var shown: [String: String] = [:]

    public init(dialogueID: String, revision: String, now: Date) {
        self.dialogueID = dialogueID
        self.revision = revision
        self.stepID = nil
        self.phase = .answer
        self.attempts = 0
        self.status = .active
        self.answers = [:]
        self.authors = [:]
        self.answerCounts = [:]
        self.discussed = []
        self.history = []
        self.listDraft = []
        self.listDraftFor = nil
        self.returnTo = nil
        self.commentFor = nil
        self.commentBy = nil
        self.pendingComments = [:]
        self.startedAt = now
        self.updatedAt = now
    }

    /// Whether the session waits for someone's answer.
    public var isWaiting: Bool { status == .active && stepID != nil }
}

/// A follow-up question one person answers for themselves inside a room run: their answer to a
/// `collective` or `personal` question took a branch that the room's own path does not take.
public struct FollowUp: Sendable, Hashable {
    /// The question this person is asked now.
    public var step: String
    /// The room's question whose answer took the branch. While the room is still there, the person's next
    /// message answers the follow-up; once it moved on, a reply to the follow-up's message does. Reaching a
    /// step of the room's own path from there closes the follow-up.
    public var from: String
    /// The person's name, for prompts and the summary (plain text: it never pings them).
    public var name: String

    public init(step: String, from: String, name: String) {
        self.step = step
        self.from = from
        self.name = name
    }
}

/// Who is speaking to a dialogue.
public struct Speaker: Sendable, Hashable {
    public var id: String
    public var name: String
    /// May steer dialogues whose `steer` is `facilitators`.
    public var isFacilitator: Bool

    public init(id: String, name: String, isFacilitator: Bool) {
        self.id = id
        self.name = name
        self.isFacilitator = isFacilitator
    }
}

/// What the interpreter is given.
public enum DialogueInput: Sendable, Hashable {
    case start
    case text(String)
    /// `!resume` on a paused session.
    case resume
    /// The session was idle longer than allowed.
    case expire
    /// `!stop`: the run ends here; its answers stay, no `on_end` action runs.
    case end
    /// An answer given earlier was edited or withdrawn outside the dialogue: the session takes the
    /// latest stored value of that question (nil: none is left) and how many answers it now has; in a room
    /// run, `person`'s own latest value (`personLatest`, nil: none is left).
    case answerChanged(
        stepID: String, variable: String, latest: AnswerValue?, author: String?, count: Int, person: String? = nil,
        personLatest: AnswerValue? = nil)
    /// A reply to (or a reaction on) the question `stepID` of run `run`, whatever the current position.
    case anchored(stepID: String, run: Int, text: String)
    /// `!stop` on a room run: a pause that keeps the place (ending it for good is ``end``).
    case pause
}

/// The world around a turn: language, the speaker and the variables texts may use.
public struct TurnContext: Sendable {
    public var language: Language
    public var speaker: Speaker
    /// Built-in variables (`sender`, `territory`, `room`, `date`).
    public var variables: [String: String]
    public var now: Date
    /// What starts a command where the dialogue runs (`!` by default): the texts that name one use it.
    public var commandPrefix: String
    /// The message was meant for the bot (a mention, its name, a reply to it, a direct room). In a room
    /// run, text that is not an answer is then left to the caller (a question for the knowledge base)
    /// instead of being ignored as side chat.
    public var addressed: Bool = false
    /// The message was a reaction: in a room run it is recorded without an acknowledgement.
    public var isReaction: Bool = false

    public init(language: Language, speaker: Speaker, variables: [String: String] = [:], now: Date, commandPrefix: String = "!") {
        self.language = language
        self.speaker = speaker
        self.variables = variables
        self.now = now
        self.commandPrefix = commandPrefix
    }
}

/// A message the dialogue says.
public struct DialogueReply: Sendable, Hashable {
    public var markdown: String
    /// Option labels when the message asks a numbered question.
    public var choices: [String]
    /// The question this message asks, if it asks one: replies and reactions to it answer that question.
    public var asks: String?

    public init(_ markdown: String, choices: [String] = [], asks: String? = nil) {
        self.markdown = markdown
        self.choices = choices
        self.asks = asks
    }
}

/// A change the caller must persist, in the same transaction as the new session.
public enum DialogueEffect: Sendable, Hashable {
    /// A new answer. `replacing` is true when it replaces the author's earlier answers to that step.
    case saveAnswer(step: String, variable: String, value: AnswerValue, display: String, speaker: Speaker, replacing: Bool)
    /// The optional comment on the speaker's latest answer to `step`.
    case comment(step: String, text: String, speaker: Speaker)
    /// A facilitator marked `step` as discussed (kept for reports even when the session is replaced).
    case discussed(step: String, speaker: Speaker)
    /// Every answer to `step` is withdrawn (restart).
    case clearAnswers(step: String)
    /// The answer to `step` lies on a branch the run no longer takes (an earlier answer was changed): it is
    /// set aside, kept in the history and out of the reports.
    case setAside(step: String)
    /// The dialogue reached its end: `on_end` actions run.
    case ended
    /// The dialogue was stopped because an answer kept failing (`on_fail: stop`): no `on_end` action.
    case abandoned
    case paused
}

/// The result of one turn.
public struct DialogueTurn: Sendable {
    public var session: DialogueSession
    public var replies: [DialogueReply]
    public var effects: [DialogueEffect]
    /// The input was not for the dialogue (side chat in a room run): nothing changed, nothing to save.
    public var ignored: Bool = false
}
