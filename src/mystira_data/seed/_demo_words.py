"""Word lists the demo generator draws from (all invented for this project)."""

from __future__ import annotations

ADULT_FIRST = (
    "Alex", "Bianca", "Chris", "Dana", "Elif", "Farah", "Greg", "Hana", "Ivan", "Julia",
    "Kofi", "Lena", "Marco", "Nadia", "Omar", "Priya", "Raj", "Sofia", "Tom", "Uma",
    "Victor", "Wanda", "Yusuf", "Zoe",
)  # fmt: skip
SURNAMES = (
    "Adeyemi", "Bergström", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Haddad",
    "Ito", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov",
    "Quintero", "Rossi", "Schmidt", "Tanaka", "Urbanek", "Varga", "Walsh", "Yilmaz", "Zhang",
)  # fmt: skip
CHILD_NAMES = (
    "Amara", "Bodhi", "Cleo", "Dario", "Esme", "Felix", "Gaia", "Hugo", "Imani", "Jonah",
    "Keira", "Lio", "Maya", "Nico", "Odette", "Pip", "Quinn", "Rosa", "Sami", "Tova",
    "Umar", "Vera", "Wes", "Yara", "Zeke", "Mila", "Otto", "Nia", "Ravi", "Saoirse",
)  # fmt: skip
PRONOUNS = ("she/her", "he/him", "they/them")
BIOS = (
    "Loves building blanket forts and then defending them.",
    "Collects shiny stones and names every one of them.",
    "Wants to be a marine biologist, or possibly a pirate.",
    "Reads under the covers with a torch.",
    "Best friends with a very old, very grumpy cat.",
    "Draws maps of places that do not exist yet.",
)

CHARACTER_NAMES = (
    "Captain Bramble", "Mossy", "Professor Quill", "Tansy the Brave", "Old Harrow", "Pebble",
    "Sir Wobbleton", "Juniper", "Nimbus", "Grizelda", "Fennick", "Marlow the Tinker",
    "Lady Cobweb", "Sprocket", "Thistle", "Barnaby Bellows", "Wren Featherfoot", "Orla",
    "Dusk", "Copperkettle", "Ember Quickstep", "Hollyhock", "Mister Fog", "Sable",
)  # fmt: skip
SPECIES = ("human", "fox", "owl", "dragon", "otter", "robot", "gnome", "badger", "sprite")
ROLES = ("mentor", "trickster", "guide", "rival", "guardian", "companion", "storyteller")
TRAITS = (
    "curious", "patient", "stubborn", "cheerful", "shy", "clever", "forgetful", "brave",
    "gentle", "impatient", "kind", "mischievous", "thoughtful", "loud",
)  # fmt: skip
BACKSTORIES = (
    "Grew up in a lighthouse and still counts the waves before sleeping.",
    "Once lost a map and has been drawing new ones ever since.",
    "Guards a bridge that nobody remembers building.",
    "Fixes broken clocks, but never the one in their own pocket.",
    "Came to the valley on a storm and decided to stay.",
    "Keeps a notebook of every promise anyone ever made to them.",
)

TITLE_ADJECTIVES = (
    "Whispering", "Lantern-lit", "Sunken", "Clockwork", "Moonlit", "Tangled", "Drifting",
    "Hidden", "Frosted", "Singing",
)  # fmt: skip
TITLE_NOUNS = (
    "Lighthouse", "Orchard", "Library", "Caravan", "Reef", "Observatory", "Bridge", "Garden",
    "Harbour", "Labyrinth",
)  # fmt: skip
SCENARIO_BLURBS = (
    "A small mystery turns into a big adventure when the party follows an odd trail.",
    "Someone needs help, but helping means choosing between two friends.",
    "A strange visitor arrives with a request and a secret.",
    "The map is wrong on purpose, and the heroes must work out why.",
    "A promise made long ago comes due, and the whole village is watching.",
)
TAGS = (
    "friendship", "teamwork", "mystery", "animals", "puzzles", "courage", "nature",
    "music", "kindness", "exploration", "humour", "feelings",
)  # fmt: skip

SCENE_OPENERS = (
    "A hush falls over", "Rain drums on", "Sunlight spills across", "Footsteps echo through",
    "A warm smell drifts from", "Something glitters inside",
)  # fmt: skip
SCENE_PLACES = (
    "the mossy gate", "the old kitchen", "the rope bridge", "the quiet library",
    "the tide pools", "the market square", "the crooked tower", "the hollow tree",
)  # fmt: skip
CHOICES = (
    "Tell the truth about the broken lantern",
    "Keep the secret for now",
    "Ask the stranger where they came from",
    "Share the last apple",
    "Take a deep breath and wait",
    "Run ahead to look",
    "Try the puzzle a different way",
    "Ask a friend for help",
    "Offer to carry the heavy bag",
    "Follow the humming sound",
    "Count to ten before answering",
    "Leave a note explaining what happened",
)
ECHO_NOTES = (
    "Chose openness even though it was awkward.",
    "Put a friend's feelings first.",
    "Acted before thinking it through.",
    "Stayed calm while others worried.",
    "Went looking for answers alone.",
    "Kept a promise that was hard to keep.",
)
DEVELOPMENTAL_LINKS = (
    "impulse-control",
    "emotional-vocabulary",
    "perspective-taking",
    "persistence",
    "question-asking",
    "planning",
)
REVEAL_MECHANICS = ("mirror", "dream", "npc_callback", "found_object", "song")

BUNDLE_NAMES = (
    "Cosy Evenings", "First Quests", "Brave Hearts", "Puzzle Club", "Wild Friends",
    "Starlit Stories", "Rainy Day Adventures", "Big Feelings",
)  # fmt: skip
CONTRIBUTOR_NAMES = ("Ada Inkwell", "Rory Pixel", "Mina Chord", "Theo Ledger")
