"""spec.template and templateFrom through the whole stack, ESO's documented example first."""

from __future__ import annotations

from tests.e2e.conftest import Cluster, poll


def test_eso_template_example_and_templatefrom_reactivity(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "pokedex-credentials", {"best-pokemon-src": "Pikachu"})
    cluster.core.create_namespaced_config_map(
        ns,
        {
            "metadata": {"name": "application-config-tmpl"},
            "data": {"config.yml": 'favourite: {{ index . "best-pokemon-src" | lower | quote }}\n'},
        },
    )
    cluster.pushsecret(
        ns,
        "tpl",
        secret="pokedex-credentials",
        template={
            "metadata": {"annotations": {}, "labels": {}},
            "data": {
                "best-pokemon": '{{ index . "best-pokemon-src" | toString | upper }} is the really best!'
            },
            "templateFrom": [
                {"configMap": {"name": "application-config-tmpl", "items": [{"key": "config.yml"}]}}
            ],
        },
        data=[
            {"match": {"secretKey": "best-pokemon", "remoteRef": {"remoteKey": f"{ns}-best"}}},
            {"match": {"secretKey": "config.yml", "remoteRef": {"remoteKey": f"{ns}-config"}}},
        ],
    )
    cluster.wait_ready(ns, "tpl")
    assert cluster.remote(f"{ns}-best") == b"PIKACHU is the really best!"
    assert cluster.remote(f"{ns}-config") == b'favourite: "pikachu"\n'

    # The templateFrom ConfigMap changes: pushed at once (ESO waits for refreshInterval).
    cluster.core.patch_namespaced_config_map(
        "application-config-tmpl",
        ns,
        {"data": {"config.yml": 'favourite: {{ index . "best-pokemon-src" | upper | quote }}\n'}},
    )
    poll(
        lambda: cluster.remote(f"{ns}-config") == b'favourite: "PIKACHU"\n',
        30,
        "the new template output",
    )


def test_template_error_is_reported_without_values(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "t3mpl4te-secret"})
    cluster.pushsecret(
        ns,
        "bad",
        secret="db",
        template={"data": {"password": "{{ .password | upper }}{{ .nokey }}"}},
    )
    cond = cluster.wait_ready(ns, "bad", status="False")
    assert cond["reason"] == "Errored"
    assert cond["message"].startswith("set secret failed: could not execute template: ")
    assert 'map has no entry for key "nokey"' in cond["message"]
    assert "t3mpl4te" not in cond["message"].lower()
    assert not cluster.remote_exists(f"{ns}-bad")
