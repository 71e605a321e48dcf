/* The Insights dashboard's charts, drawn with Apache ECharts from the figures the page embeds
   (#insights-charts) and its translated labels (#insights-labels). */
(function () {
  "use strict";

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function percent(value) { return (value * 100).toFixed(1) + "%"; }

  function options(kind, d, t) {
    var grid = { left: 48, right: 48, top: 36, bottom: 32, containLabel: true };
    switch (kind) {
    case "lifecycle":
      return { tooltip: { trigger: "item" }, legend: { bottom: 0 },
        series: [{ type: "pie", radius: ["40%", "68%"], center: ["50%", "45%"],
          data: d.lifecycle.map(function (x) { return { name: t["lifecycle_" + x.key], value: x.value }; }) }] };
    case "series":
      return { tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: grid,
        xAxis: { type: "category", data: d.series.buckets },
        yAxis: [{ type: "value", name: t.visits }, { type: "value", name: t.revenue_axis }],
        series: [
          { name: t.visits, type: "bar", data: d.series.visits },
          { name: t.active, type: "bar", data: d.series.active },
          { name: t.revenue, type: "line", yAxisIndex: 1, smooth: true, data: d.series.revenue }] };
    case "rates":
      var keys = ["repeat", "retention", "churn"];
      return { tooltip: { trigger: "axis", valueFormatter: percent }, grid: grid,
        xAxis: { type: "category", data: keys.map(function (k) { return t[k]; }) },
        yAxis: { type: "value", max: 1, axisLabel: { formatter: percent } },
        series: [{ type: "bar", data: keys.map(function (k) { return d.rates[k]; }),
          label: { show: true, position: "top", formatter: function (p) { return p.value == null ? "—" : percent(p.value); } } }] };
    case "cohorts":
      var columns = [];
      for (var k = 1; k <= d.cohorts.width; k++) { columns.push("+" + k); }
      return { tooltip: { formatter: function (p) { return d.cohorts.months[p.value[1]] + " " + columns[p.value[0]] + ": " + percent(p.value[2]); } },
        grid: { left: 64, right: 16, top: 16, bottom: 72, containLabel: true },
        xAxis: { type: "category", data: columns, name: t.months_after, nameLocation: "middle", nameGap: 28 },
        yAxis: { type: "category", data: d.cohorts.months, inverse: true },
        visualMap: { min: 0, max: 1, orient: "horizontal", left: "center", bottom: 0, calculable: false,
          formatter: function (v) { return percent(v); }, inRange: { color: ["#f4f1fb", "#7c3aed"] } },
        series: [{ type: "heatmap", data: d.cohorts.cells,
          label: { show: window.innerWidth > 700, formatter: function (p) { return Math.round(p.value[2] * 100); } } }] };
    case "rfm":
      var max = Math.max.apply(null, d.rfm.map(function (c) { return c[2]; }).concat([1]));
      return { tooltip: { formatter: function (p) { return "R" + (p.value[1] + 1) + " F" + (p.value[0] + 1) + ": " + p.value[2]; } },
        grid: { left: 56, right: 16, top: 16, bottom: 64, containLabel: true },
        xAxis: { type: "category", data: ["1", "2", "3", "4", "5"], name: t.frequency, nameLocation: "middle", nameGap: 26 },
        yAxis: { type: "category", data: ["1", "2", "3", "4", "5"], name: t.recency },
        visualMap: { min: 0, max: max, orient: "horizontal", left: "center", bottom: 0, inRange: { color: ["#f4f1fb", "#7c3aed"] } },
        series: [{ type: "heatmap", data: d.rfm, label: { show: true } }] };
    case "tiers":
      return { tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: grid,
        xAxis: { type: "category", data: d.tiers.names }, yAxis: { type: "value" },
        series: [{ name: t.members, type: "bar", data: d.tiers.members },
          { name: t.upgrades, type: "bar", data: d.tiers.up }, { name: t.downgrades, type: "bar", data: d.tiers.down }] };
    case "satisfaction":
      var groups = ["promoters", "passives", "detractors"], colours = ["#16a34a", "#9ca3af", "#dc2626"];
      return { tooltip: { trigger: "axis" }, grid: grid,
        xAxis: { type: "category", data: groups.map(function (k) { return t[k]; }) },
        yAxis: { type: "value", name: t.answers, minInterval: 1 },
        series: [{ type: "bar", label: { show: true, position: "top" },
          data: d.satisfaction.groups.map(function (n, i) { return { value: n, itemStyle: { color: colours[i] } }; }) }] };
    case "points":
      var names = ["issued", "redeemed", "expired", "reversed"];
      return { tooltip: { trigger: "axis" }, grid: grid,
        xAxis: { type: "category", data: names.map(function (k) { return t[k]; }) }, yAxis: { type: "value" },
        series: [{ type: "bar", data: names.map(function (k) { return d.points[k]; }) }] };
    case "clv":
      var c = data("insights-clv");
      return { tooltip: { trigger: "axis" }, grid: grid,
        xAxis: { type: "category", data: c.labels, axisLabel: { rotate: 30 } }, yAxis: { type: "value" },
        series: [{ name: c.name, type: "bar", data: c.members }] };
    case "campaigns":
      /* Incremental revenue per campaign, with its 95 % interval as a line from low to high. */
      return { tooltip: { trigger: "axis" }, grid: grid, legend: {},
        xAxis: { type: "category", data: d.campaigns.names, axisLabel: { rotate: 20 } },
        yAxis: { type: "value", name: t.revenue_axis },
        series: [{ name: t.incremental_revenue, type: "bar", data: d.campaigns.incremental },
          { name: t.interval_low, type: "scatter", symbol: "triangle", data: d.campaigns.low },
          { name: t.interval_high, type: "scatter", symbol: "triangle", symbolRotate: 180, data: d.campaigns.high }] };
    case "packages":
      var keys = ["sessions_used", "sessions_expired", "sessions_refunded"];
      return { tooltip: { trigger: "axis" }, grid: grid,
        xAxis: { type: "category", data: keys.map(function (k) { return t[k]; }) },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", label: { show: true, position: "top" },
          data: keys.map(function (k) { return d.packages[k]; }) }] };
    case "appointments":
      return { tooltip: { trigger: "axis", valueFormatter: percent }, grid: grid,
        xAxis: { type: "category", data: d.appointments.names }, yAxis: { type: "value", max: 1, axisLabel: { formatter: percent } },
        series: [{ name: t.utilisation, type: "bar", data: d.appointments.utilisation }] };
    }
    return null;
  }

  function draw() {
    var d = data("insights-charts"), t = data("insights-labels");
    if (!d || !window.echarts) { return; }
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (node) {
      var chart = window.echarts.init(node, null, { renderer: "canvas" });
      chart.setOption(options(node.dataset.chart, d, t));
      node.dataset.drawn = "1";
      if (node.dataset.chart === "clv" && node.dataset.membersUrl) {
        chart.on("click", function (p) {
          var bucket = data("insights-clv").buckets[p.dataIndex];
          window.location.href = node.dataset.membersUrl + "?min=" + bucket[0] + "&max=" + bucket[1];
        });
      }
      if (node.dataset.chart === "rfm" && node.dataset.membersUrl) {
        chart.on("click", function (p) {
          window.location.href = node.dataset.membersUrl + "&r=" + (p.value[1] + 1) + "&f=" + (p.value[0] + 1);
        });
      }
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
}());
