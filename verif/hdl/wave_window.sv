// SPDX-License-Identifier: Apache-2.0
// Simulation-only helper: dumps the top level's waves between +wave_from=<ns> and +wave_to=<ns>.

`timescale 1ns / 1ps

module wave_window;

  longint unsigned from_ns, to_ns;

  // WAVE_TOP is defined by the runner as the DUT's top-level module name.
  initial begin
    if ($value$plusargs("wave_from=%d", from_ns) && $value$plusargs("wave_to=%d", to_ns)) begin
      $dumpfile("window.fst");
      $dumpvars(0, `WAVE_TOP);
      $dumpoff;
      #(from_ns);
      $dumpon;
      #(to_ns - from_ns);
      $dumpoff;
    end
  end

endmodule : wave_window
