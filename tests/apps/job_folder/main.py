"""An input that interpolates Hydra's per-job values. Hydra sets ``hydra.runtime.output_dir`` only
when its run_job starts the job (while a sweep is planned it is ``???``, which the ``hydra:``
resolver reads as None): planning must not refuse it, and each job must get its own folder."""

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def describe(job: DictConfig) -> str:
    return f"{job.folder}|{job.num}"


@workflow
def job_folder(job: DictConfig) -> str:
    return describe(job=job)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> str:
    result = scaffold_flyte.run(cfg)
    print(f"result={result}")
    return result


if __name__ == "__main__":
    main()
