"""pushsecret: the domain of pushsecret-temporal, free of Temporal worker code.

Everything here is plain Python: the CRD models (``pushsecret.api``), the store providers
(``pushsecret.providers``), the Kubernetes access helpers and the local stack. Workflows import
only ``pushsecret.api``; activities wrap the rest.
"""
