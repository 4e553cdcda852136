"""Choosing the weights a search hands on, by many samples rather than the noisy in-trial score.

Lives here: the candidate weights of a trial (best by the search metric, latest, best by
val_loss) and the final selection that scores them on the whole validation split with several
paired source draws. May import ``training``, ``data``, ``evaluation``; never Ray (the search
calls this after Tune has finished).
"""

from tune_flow.selection.final_selection import (
    Candidate,
    CandidateScore,
    Selection,
    select_final_model,
    trial_candidates,
)

__all__ = ["Candidate", "CandidateScore", "Selection", "select_final_model", "trial_candidates"]
