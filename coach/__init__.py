"""coach: a private, fully local interview coach for AI cloud infrastructure engineering.

`Coach(load_config())` is the composition root every entry point uses; the public names below
import nothing heavy: models load on first use inside their adapters.
"""

from coach.config import Config
from coach.config import load as load_config
from coach.errors import CoachError
from coach.grading.types import Grade
from coach.root import Backends, Coach
from coach.types import Chunk, Citation, Hit, Lab, Question, RoadmapQuestion, Section

__all__ = ["Backends", "Chunk", "Citation", "Coach", "CoachError", "Config", "Grade", "Hit", "Lab", "Question",
           "RoadmapQuestion", "Section", "load_config"]
