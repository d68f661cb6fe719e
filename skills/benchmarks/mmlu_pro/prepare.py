"""MMLU-Pro preparation: one line per question from the TIGER-Lab parquet files."""

from skills.data.fields import mcq_fields, out_file, pick_splits, reject_extra
from skills.data.io import write_jsonl
from skills.data.sources import hf_file, mirror_file, read_parquet

HF_REPO = "TIGER-Lab/MMLU-Pro"
SPLITS = ("test", "validation")


def prepare(ctx):
    """One line per question: letter answer, few-shot type and subset from the category, A..J options."""
    reject_extra("mmlu-pro", ctx.extra)
    written = []
    for split in pick_splits("mmlu-pro", ctx.split, "test", SPLITS):
        name = f"{split}-00000-of-00001.parquet"
        src = mirror_file(ctx.mirror, "mmlu-pro", name) if ctx.mirror else hf_file(HF_REPO, f"data/{name}", gated=False)
        rows = []
        for row in read_parquet(src, ("question", "options", "answer", "category")):
            category = row["category"].replace(" ", "_")
            rows.append({
                "expected_answer": row["answer"],
                "examples_type": f"mmlu_pro_few_shot_{category}",
                "subset_for_metrics": category,
                **mcq_fields(row["question"], list(row["options"])),
            })
        dest = out_file(ctx.data_dir, "mmlu-pro", split)
        write_jsonl(dest, rows)
        written.append(dest)
    return written
