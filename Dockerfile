# Single-user image for a GPU JupyterHub: CUDA PyTorch, the cifar_lessons package with its
# compiled kernels, and the book's notebooks in the home folder. It installs exactly what
# `make install` installs (requirements.txt, then the package), into /opt/venv, and builds the
# book to read offline (`make book OFFLINE=1`) into /opt/cifar-lessons/_build/html.
# tests/test_hub.py walks a learner through a hub whose servers run this same install.
#
#   docker build -t cifar-lessons .
#   docker run --gpus all -p 8888:8888 cifar-lessons          # try it alone: JupyterLab on :8888
#
# The notebooks download CIFAR-10 into ~/.cache/cifar_lessons on first use; to share one copy,
# mount it and point at it: `-v /data/cifar-10:/data/cifar-10:ro -e CIFAR10_DIR=/data/cifar-10`.
#
# On a hub, set this image as the single-user image (e.g. KubeSpawner's `image`, or
# DockerSpawner's `image` with `extra_host_config={"device_requests": [GPU request]}`); the hub
# starts `jupyterhub-singleuser`, which this image provides.
FROM python:3.11-slim-bookworm

# A C compiler for the Cython kernels, make for `make install`, git for nbgitpuller, npm for the
# offline book (it fetches the scripts the pages load).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential git make npm \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 --shell /bin/bash jovyan \
    && mkdir -p /opt/cifar-lessons /opt/venv \
    && chown jovyan:jovyan /opt/cifar-lessons /opt/venv
USER 1000
WORKDIR /opt/cifar-lessons

COPY --chown=jovyan:jovyan requirements.txt pyproject.toml setup.py Makefile README.md ./
COPY --chown=jovyan:jovyan cifar_lessons/ cifar_lessons/
COPY --chown=jovyan:jovyan book_tools/ book_tools/
ENV PIP_NO_CACHE_DIR=1
RUN make install VENV=/opt/venv

# The book, its pages loading MathJax and the widget manager from inside the site, not from a
# CDN: readers inside a network without outside access see typeset math and drawn widgets. Any
# `make book` run in this image builds that way. Serve _build/html from inside your network.
COPY --chown=jovyan:jovyan _config.yml _toc.yml ./
COPY --chown=jovyan:jovyan assets/ assets/
COPY --chown=jovyan:jovyan book/ book/
ENV OFFLINE=1
RUN make book VENV=/opt/venv \
    && rm -rf _build/offline _build/.doctrees _build/jupyter_execute /home/jovyan/.npm

COPY --chown=jovyan:jovyan book/ /home/jovyan/book/
# The learners' copies: ~/exercises, each solution blanked to a TODO stub (~/book keeps them).
RUN /opt/venv/bin/python -m book_tools.exercises /home/jovyan/exercises /home/jovyan/book
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /home/jovyan
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]
