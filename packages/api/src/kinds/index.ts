// Every kind registers itself here; adding a kind is a message in proto/ and a file in this folder.
import "./namespace.js";
import "./node.js";
import "./pod.js";
import "./configMap.js";
import "./secret.js";
import "./event.js";
import "./lease.js";
import "./replicaSet.js";
import "./deployment.js";
import "./job.js";
import "./cronJob.js";
import "./service.js";
import "./horizontalPodAutoscaler.js";
import "./resourceMetrics.js";
import "./storage.js";
