"""Hyperparameter sweeps: a grid or random search over autoencoder configurations, run
one after another or on Ray Tune, recorded trial by trial in a JSONL file.

    from autoencoders import sweep
    records = sweep.run({"model": ["deep"], "code_size": [2, 8, 32], "layers": [1, 2]},
                        dataset="mnist", limit=10000, epochs=3, results="sweep.jsonl")
    print(sweep.format_table(records))
    sweep.write_figures(records, "figures/")

``autoencoders sweep`` is the command-line form.
"""

from .figures import write_figures
from .results import append_result, format_table, read_results, sort_results
from .runner import run, sweep_configs
from .space import SPACE_KEYS, config_key, grid, random_configs, trial_seed
from .trial import SweepData, load_sweep_data, run_trial

__all__ = [
    "SPACE_KEYS",
    "SweepData",
    "append_result",
    "config_key",
    "format_table",
    "grid",
    "load_sweep_data",
    "random_configs",
    "read_results",
    "run",
    "run_trial",
    "sort_results",
    "sweep_configs",
    "trial_seed",
    "write_figures",
]
