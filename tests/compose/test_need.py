"""A run's need of a worker (GPUs, labels, GPU memory) is read from its jobs."""

import textwrap

from compose.loader import load_compose, parse
from compose.need import Need, run_need


def doc(components: str, jobs: str):
    return load_compose(
        textwrap.dedent(f"""
        components:
{textwrap.indent(textwrap.dedent(components), "          ")}
        workflows:
          - id: w
            jobs:
{textwrap.indent(textwrap.dedent(jobs), "              ")}
    """)
    )


def test_the_largest_job_sets_the_need_and_data_set_jobs_need_nothing():
    d = doc(
        """
        - {id: load, type: datasets, path: json, data_files: a.json}
        - {id: small, type: model-trainer, task: sft, resources: {gpus: 1, labels: [a100]}}
        - {id: big, type: model-trainer, task: sft, resources: {gpus: 2, gpu_memory_gb: 40, labels: [nvme]}}
        """,
        """
        - {id: l, component: load}
        - {id: a, component: small, depends_on: [l]}
        - {id: b, component: big, depends_on: [a]}
        """,
    )
    assert run_need(d, "w") == Need(2, ("a100", "nvme"), 40.0)
    assert run_need(d, "w").describe() == "2 GPUs; 40 GB each; labels a100, nvme"


def test_a_model_job_on_cuda_needs_one_gpu_and_one_on_cpu_none():
    gpu = doc(
        "- {id: m, type: model, task: text-generation, model: ./m, prompt: hi, device: cuda}", "- {id: g, component: m}"
    )
    cpu = doc(
        "- {id: m, type: model, task: text-generation, model: ./m, prompt: hi, device: cpu}", "- {id: g, component: m}"
    )
    assert run_need(gpu, "w").gpus == 1 and run_need(cpu, "w") == Need()


def test_a_job_input_overrides_the_components_resources_and_bindings_count_as_none():
    d = doc(
        "- {id: t, type: model-trainer, task: sft, resources: {gpus: 1}}",
        """
        - {id: a, component: t, input: {resources: {gpus: 3, labels: ["${input.label}"]}}}
        """,
    )
    assert run_need(d, "w") == Need(3)


def test_gpu_memory_without_gpus_is_warned_about():
    parsed = parse(
        textwrap.dedent("""
        components:
          - {id: t, type: model-trainer, task: sft, resources: {gpu_memory_gb: 40}}
        workflows:
          - {id: w, jobs: [{id: a, component: t}]}
    """)
    )
    assert any("gpu_memory_gb has no effect with gpus: 0" in w.message for w in parsed.warnings)
    bad = parse(
        "components:\n  - {id: t, type: model-trainer, task: sft, resources: {gpus: 1, gpu_memory_gb: -1}}\n"
        "workflows:\n  - {id: w, jobs: [{id: a, component: t}]}\n"
    )
    assert any("gpu_memory_gb: should be greater than 0" in e.message for e in bad.errors)
