// SPDX-License-Identifier: Apache-2.0
// Differential board clock input: IBUFDS + BUFG on the FPGA, a plain wire in simulators.

`default_nettype none

module vc707_clock (
  input  wire logic clk_p_i,  // differential clock pair from the board oscillator
  input  wire logic clk_n_i,
  output logic      clk_o     // global clock
);

  // Simulators without the Xilinx primitive library see the positive leg only.
`ifdef VERILATOR
  `define VC707_CLOCK_BEHAVIOURAL
`endif
`ifdef __ICARUS__
  `define VC707_CLOCK_BEHAVIOURAL
`endif

`ifdef VC707_CLOCK_BEHAVIOURAL
  assign clk_o = clk_p_i;
  // The testbench must drive a true pair.
  always @(posedge clk_p_i) begin
    assert (clk_n_i == 1'b0) else $error("vc707_clock: clk_n_i is not the complement of clk_p_i");
  end
  `undef VC707_CLOCK_BEHAVIOURAL
`else
  logic clk_ibuf;
  IBUFDS u_ibufds (
    .I (clk_p_i),
    .IB(clk_n_i),
    .O (clk_ibuf)
  );
  BUFG u_bufg (
    .I(clk_ibuf),
    .O(clk_o)
  );
`endif

endmodule : vc707_clock

`default_nettype wire
