"""benchmarks/keras_blog.py on a few hundred images: it records rows and prints the table."""

import json

import numpy as np
import pytest

from benchmarks import keras_blog


def rows(out):
    with open(out / keras_blog.RESULTS_FILE) as file:
        return [json.loads(line) for line in file]


def test_rows_are_appended_as_json_lines_and_tabulated(tmp_path, capsys):
    common = ["--epochs", "1", "--limit", "300", "--out", str(tmp_path), "--quiet"]
    assert keras_blog.main(["--model", "sparse", *common]) == 0
    assert keras_blog.main(["--model", "pca", *common]) == 0
    sparse, pca = rows(tmp_path)
    assert sparse["model"] == "sparse" and sparse["epochs"] == 1 and sparse["limit"] == 300
    assert 0 < sparse["test_bce"] < 1 and sparse["test_loss"] > sparse["test_bce"]  # + L1
    assert sparse["mean_code_activation"] >= 0
    assert sparse["command"] == "python -m benchmarks.keras_blog --model sparse " + " ".join(common)
    assert (tmp_path / "mnist_sparse.npz").exists()
    assert pca["test_bce"] is None and 0 < pca["squared_error_per_image"] < 60
    capsys.readouterr()
    assert keras_blog.main(["--table", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| dataset | model |") and len(table) == 4
    assert "| mnist | sparse |" in table[2] and "SMOKE TEST" in table[2]
    assert "| mnist | pca |" in table[3]


def test_denoising_row_reports_clean_target_bce_and_psnr(tmp_path):
    args = ["--model", "denoising-conv", "--epochs", "1", "--limit", "64", "--out", str(tmp_path)]
    assert keras_blog.main([*args, "--quiet"]) == 0
    (row,) = rows(tmp_path)
    assert 0 < row["denoised_clean_target_bce"] < 1
    assert row["noisy_input_psnr_db"] > 0 and row["denoised_psnr_db"] > 0


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(SystemExit):
        keras_blog.main(["--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        keras_blog.main(["--model", "dense", "--epochs", "-1", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        keras_blog.main(["--table", "--out", str(tmp_path / "nothing")])


def test_a_run_with_another_optimizer_gets_its_own_row_and_a_rerun_replaces_its_own():
    def row(setting, bce):
        return {
            "dataset": "mnist",
            "model": "deep",
            "setting": setting,
            "epochs": 100,
            "test_bce": bce,
            "squared_error_per_image": 9.0,
            "wall_seconds": 60.0,
            "command": "python -m benchmarks.keras_blog --model deep",
        }

    recipe = keras_blog.RECIPES["deep"]["setting"]
    adam = recipe + " (run with Adam lr 0.001, batch 256)"
    table = keras_blog.markdown_table(
        [row(recipe, 0.0990), row(adam, 0.0821), row(recipe, 0.0977)]
    ).splitlines()
    assert len(table) == 4
    assert "0.0977" in table[2] and "0.0990" not in "".join(table)
    assert "0.0821" in table[3] and "(run with Adam" in table[3]
    pretrained = {**row(recipe, 0.0950), "pretrain_epochs": 5}
    table = keras_blog.markdown_table([row(recipe, 0.0977), pretrained]).splitlines()
    assert len(table) == 4 and "pretrained 5 epochs/layer" in table[3]


def test_schedule_and_output_bias_are_recorded_in_the_setting_and_the_optimizer(tmp_path):
    args = ["--model", "dense", "--optimizer", "adam", "--learning-rate", "0.002"]
    args += ["--schedule", "cosine", "--epochs", "2", "--batch-size", "100", "--init-output-bias"]
    assert keras_blog.main([*args, "--limit", "300", "--out", str(tmp_path), "--quiet"]) == 0
    (row,) = rows(tmp_path)
    assert row["setting"].endswith(
        " (run with Adam lr 0.002 cosine-decayed to 0, batch 100), output bias at the data mean"
    )
    schedule = row["optimizer"]["learning_rate"]
    # 300 images in batches of 100 for 2 epochs: the rate reaches 0 at the last step.
    assert schedule == {
        "class_name": "CosineDecay",
        "initial_learning_rate": 0.002,
        "decay_steps": 6,
        "alpha": 0.0,
    }


def test_adamw_weight_decay_is_recorded_and_refused_for_other_optimizers(tmp_path):
    args = ["--model", "dense", "--optimizer", "adamw", "--weight-decay", "0.05"]
    assert keras_blog.main([*args, "--epochs", "1", "--limit", "100", "--out", str(tmp_path)]) == 0
    (row,) = rows(tmp_path)
    assert "(run with AdamW lr 0.001 weight decay 0.05, batch 256)" in row["setting"]
    assert row["optimizer"]["class_name"] == "AdamW"
    assert row["optimizer"]["weight_decay"] == 0.05
    with pytest.raises(SystemExit, match="weight-decay"):
        keras_blog.main(["--model", "dense", "--weight-decay", "0.1", "--out", str(tmp_path)])


def test_tied_weights_build_a_tied_deep_model_and_are_refused_elsewhere(tmp_path):
    common = ["--epochs", "1", "--limit", "100", "--quiet"]
    assert keras_blog.main(["--model", "deep", *common, "--out", str(tmp_path / "untied")]) == 0
    args = ["--model", "deep", "--tied-weights", *common, "--out", str(tmp_path / "tied")]
    assert keras_blog.main(args) == 0
    (untied,) = rows(tmp_path / "untied")
    (tied,) = rows(tmp_path / "tied")
    assert tied["setting"] == untied["setting"] + ", tied weights"
    # The decoder's three kernels are the encoder's, transposed: three arrays fewer saved.
    with np.load(untied["model_file"]) as a, np.load(tied["model_file"]) as b:
        untied_kernels = [k for k in a.files if k.startswith("weight/") and a[k].ndim == 2]
        tied_kernels = [k for k in b.files if k.startswith("weight/") and b[k].ndim == 2]
    assert len(untied_kernels) == 6 and len(tied_kernels) == 3
    with pytest.raises(SystemExit, match="tied-weights"):
        keras_blog.main(["--model", "conv", "--tied-weights", *common, "--out", str(tmp_path)])
